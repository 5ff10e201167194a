"""The PostgreSQL event store's schema: DDL, versioned migrations, triggers, roles, partitions.

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

Each store lives in one schema (``event_store`` by default; tests use a fresh one each).
The schema and partition names are checked against strict patterns and then quoted, since
identifiers cannot be bound as parameters (:class:`Sql` is the only place they enter SQL);
every value is a parameter. The adapter itself is :mod:`storage.events.postgres`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from storage.events._core import check_not_newer
from storage.events.archive import month_start, next_month
from storage.events.errors import InvalidSchemaName
from storage.events.port import utc_now
from storage.identifiers import is_identifier

DEFAULT_SCHEMA = "event_store"
APP_ROLE = "quorate_app"
"""The application role: ``SELECT`` and ``INSERT`` only (created ``NOLOGIN`` by migration 2
when the migrating user may create roles; grant it to the application's log-in user)."""
APPEND_ONLY_SQLSTATE = "QE001"
"""SQLSTATE raised by the append-only trigger, so refusals are recognized reliably."""
LOCK_CLASS = 0x5152_4D45
"""First key of ``pg_advisory_xact_lock(int4, int4)``: Quorate's event store (b"QRME").

Migrations take the appends' lock, so no append runs against a half-migrated schema."""

_PARTITION_NAME = re.compile(r"events_y([0-9]{4})m(0[1-9]|1[0-2])")

# Each migration is a description and a list of statements over the placeholders {schema}
# (the quoted, pattern-checked schema name) and {schema_name} (the same name unquoted, only
# inside SQL string literals, where the pattern [a-z0-9_] cannot break out); released
# entries are never edited, only new ones appended.
MIGRATIONS: dict[int, tuple[str, tuple[str, ...]]] = {
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
SCHEMA_VERSION = max(MIGRATIONS)

# The statements migrations and appends share, over the placeholder {schema}.
SCHEMA_TEMPLATES = {
    "lock": "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
    "regclass": "SELECT to_regclass($1)::text",
    "ensure_partition": "SELECT {schema}.ensure_partition($1, $2)",
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


class Sql:
    """The SQL of one schema: each template with ``{schema}`` replaced by the quoted name.

    This is the only place an identifier enters SQL, and it has passed :func:`quote_schema`
    (or, for a partition, :func:`quote_partition`).
    """

    def __init__(
        self,
        schema: str,
        templates: Mapping[str, str] = SCHEMA_TEMPLATES,
        partition_templates: Mapping[str, str] | None = None,
    ) -> None:
        quoted = quote_schema(schema)
        self.schema = schema
        self.quoted_schema = quoted
        self.events_table = f"{quoted}.events"
        """The events table as a ``regclass`` literal (a value, bound as a parameter)."""
        self._sql = {name: sql.format(schema=quoted) for name, sql in templates.items()}
        self._partition_templates = dict(partition_templates or {})

    def __getitem__(self, name: str) -> str:
        return self._sql[name]

    def migration(self, version: int) -> tuple[str, tuple[str, ...]]:
        """The description and statements of migration ``version`` for this schema."""
        description, statements = MIGRATIONS[version]
        return description, tuple(
            s.format(schema=self.quoted_schema, schema_name=self.schema) for s in statements
        )

    def partition(self, name: str) -> dict[str, str]:
        """The statements on partition ``name`` (checked by :func:`quote_partition`)."""
        quoted = quote_partition(name)
        return {
            key: sql.format(schema=self.quoted_schema, partition=quoted)
            for key, sql in self._partition_templates.items()
        }


def quote_schema(schema: str) -> str:
    """``schema`` as a quoted identifier, after a strict check (no quoting tricks possible)."""
    if not is_identifier(schema):
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
    sql = Sql(schema)
    if await connection.fetchval(sql["regclass"], f"{sql.quoted_schema}.event_store_migrations"):
        current = int(await connection.fetchval(sql["migrated_version"]))
        check_not_newer(current, SCHEMA_VERSION)
        if current >= target_version:
            return
    async with connection.transaction():
        await connection.execute(sql["lock"], LOCK_CLASS, schema)
        await connection.execute(sql["create_schema"])
        await connection.execute(sql["create_migrations"])
        current = int(await connection.fetchval(sql["migrated_version"]))
        check_not_newer(current, SCHEMA_VERSION)
        for version in range(current + 1, target_version + 1):
            description, statements = sql.migration(version)
            for statement in statements:
                await connection.execute(statement)
            await connection.execute(sql["record_migration"], version, description)


async def create_partitions_ahead(connection: Any, schema: str) -> set[tuple[int, int]]:
    """Create this month's and next month's partitions (wall clock) if they are missing.

    Ahead of time so the first append of a month rarely pays for creating its partition.
    A role that may not create partitions (a read-only auditor) skips this quietly.
    """
    sql = Sql(schema)
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
