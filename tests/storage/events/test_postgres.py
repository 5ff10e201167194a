"""The event-store contract against a real PostgreSQL server, plus PostgreSQL specifics.

Each test gets a fresh schema (``postgres_schema`` in conftest.py), dropped afterwards, so
tests are isolated from each other and from anything else in the database. The
application role (``quorate_app``) belongs to the cluster and is shared by every schema;
tests act as it with ``SET ROLE`` from the superuser, or by opening the store with the
``role`` connection setting, so no password or extra login is needed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from storage.events.archive import month_start, next_month
from storage.events.errors import RetentionNotPermitted
from storage.events.port import RETENTION, open_event_store, utc_now, verify_chain
from storage.events.postgres import (
    APP_ROLE,
    APPEND_ONLY_SQLSTATE,
    SCHEMA_VERSION,
    PostgresEventStore,
    migrate,
    notify_channel,
)
from tests.storage.events.conftest import POSTGRES_URL
from tests.storage.events.contract import (
    NOW,
    EventStoreContract,
    ManualClock,
    event,
    years_ago,
)
from tests.storage.events.legacy import legacy_events, row_of, same_as

OLD_MONTH = datetime(2017, 6, 15, tzinfo=UTC)
OLD_PARTITION = "events_y2017m06"


def partition_name(month: datetime) -> str:
    return f"events_y{month.year:04d}m{month.month:02d}"


class TestPostgresEventStore(EventStoreContract):
    refusal_errors = (asyncpg.PostgresError,)

    @pytest.fixture(autouse=True)
    def _location(self, postgres_schema: str) -> None:
        self.schema = postgres_schema
        self.store_url = f"{POSTGRES_URL}?schema={postgres_schema}"

    async def _connect(self) -> Any:
        # A separate superuser connection, what an operator or an intruder could use. The
        # search path points at this test's schema, so the SQL below names no schema.
        return await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": self.schema})

    @asynccontextmanager
    async def _superuser(self) -> AsyncIterator[Any]:
        connection = await self._connect()
        try:
            yield connection
        finally:
            await connection.close()

    async def _execute(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        async with self._superuser() as connection, connection.transaction():
            for sql, parameters in statements:
                await connection.execute(sql, *parameters)

    async def raw_update_payload(self, position: int, payload_json: str) -> None:
        await self._execute(
            ("UPDATE events SET payload = $1 WHERE position = $2", (payload_json, position))
        )

    async def raw_delete(self, position: int) -> None:
        await self._execute(("DELETE FROM events WHERE position = $1", (position,)))

    async def tamper_payload(self, position: int, payload_json: str) -> None:
        # On the partitioned parent, DISABLE TRIGGER recurses to every partition.
        await self._execute(
            ("ALTER TABLE events DISABLE TRIGGER ALL", ()),
            ("UPDATE events SET payload = $1 WHERE position = $2", (payload_json, position)),
            ("ALTER TABLE events ENABLE TRIGGER ALL", ()),
        )

    async def _partitions(self) -> list[str]:
        async with self._superuser() as connection:
            rows = await connection.fetch(
                "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c"
                " ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1"
            )
        return [str(row["relname"]) for row in rows]

    # -- layout and migrations -------------------------------------------------------------

    async def test_database_refuses_truncate(self) -> None:
        store, stored = await self.filled_store(2)
        async with store:
            for table in ("events", "event_index", "event_archives"):
                with pytest.raises(asyncpg.PostgresError, match="append-only") as caught:
                    await self._execute((f"TRUNCATE {table}", ()))
                assert caught.value.sqlstate == APPEND_ONLY_SQLSTATE
            assert await store.read_all() == stored

    async def test_migrations_are_recorded_once(self) -> None:
        for _ in range(2):
            await (await self.open_store()).close()
        async with self._superuser() as connection:
            rows = await connection.fetch(
                "SELECT version FROM event_store_migrations ORDER BY version"
            )
        assert [row["version"] for row in rows] == [1, 2] == list(range(1, SCHEMA_VERSION + 1))

    async def test_url_names_the_schema(self) -> None:
        async with await self.open_store() as store:
            assert isinstance(store, PostgresEventStore)
            assert store.schema == self.schema
            assert store.url == self.store_url

    async def test_migrating_a_version_1_store(self) -> None:
        legacy = legacy_events(6)
        async with self._superuser() as connection:
            await migrate(connection, self.schema, target_version=1)
            # As version 1 wrote them: one plain table, no index table, no partitions.
            await connection.executemany(
                "INSERT INTO events (position, stream_id, stream_version, event_type,"
                " schema_version, payload, metadata, idempotency_key, recorded_at, prev_hash,"
                " hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                [row_of(e, recorded_at=e.recorded_at) for e in legacy],
            )
        async with await self.open_store() as store:
            assert await store.read_all() == legacy
            verify_chain(await store.read_all())
            assert await store.read_stream("wallet-legacy0") == legacy[1::2]
            # The index was filled from the old rows: keys and versions carry on.
            assert await store.append(same_as(legacy[2])) == legacy[2]
            next_event = await store.append(event("new", stream="wallet-legacy0"), 3)
            assert (next_event.position, next_event.stream_version) == (7, 4)
            assert next_event.prev_hash == legacy[-1].hash
            verify_chain(await store.read_all())
        partitions = await self._partitions()
        assert {"events_y2024m12", "events_y2025m01"} <= set(partitions)
        async with self._superuser() as connection:
            assert await connection.fetchval("SELECT to_regclass('events_v1')") is None
            versions = await connection.fetch("SELECT version FROM event_store_migrations")
            assert sorted(row["version"] for row in versions) == [1, 2]
            in_december = await connection.fetchval("SELECT count(*) FROM events_y2024m12")
            assert in_december == 1  # 23:30 on the 31st; the rest is in January.

    # -- partitions ------------------------------------------------------------------------

    async def test_monthly_partitions_are_created_on_demand_and_ahead(self) -> None:
        clock = ManualClock(OLD_MONTH)
        async with await self.open_store(clock) as store:
            await store.append(event("a"))
            clock.now = datetime(2017, 8, 31, 23, 59, 59, 999999, tzinfo=UTC)
            await store.append(event("b"))
            clock.now = datetime(2017, 9, 1, tzinfo=UTC)
            await store.append(event("c"))
        this_month = month_start(utc_now())
        expected = {
            OLD_PARTITION,
            "events_y2017m08",
            "events_y2017m09",
            partition_name(this_month),
            partition_name(next_month(this_month)),
        }
        assert await self._partitions() == sorted(expected)
        async with self._superuser() as connection:
            assert await connection.fetchval("SELECT position FROM events_y2017m09") == 3

    async def test_partitions_refuse_changes_directly(self) -> None:
        async with await self.open_store(ManualClock(OLD_MONTH)) as store:
            stored = await store.append(event("a"))
            for statement in (
                "UPDATE events_y2017m06 SET payload = '{}'",
                "DELETE FROM events_y2017m06",
                "TRUNCATE events_y2017m06",
                # Moving a row out of its month is a delete plus an insert: refused too.
                "UPDATE events SET recorded_at = recorded_at + interval '3 months'",
            ):
                with pytest.raises(asyncpg.PostgresError, match="append-only") as caught:
                    await self._execute((statement, ()))
                assert caught.value.sqlstate == APPEND_ONLY_SQLSTATE
            assert await store.read_all() == [stored]

    async def test_a_partition_dropped_behind_the_stores_back_is_recreated(
        self, tmp_path: Path
    ) -> None:
        clock = ManualClock(OLD_MONTH)
        async with await self.open_store(clock) as store:
            first = await store.append(event("a"))
            async with await self.open_store() as retention:
                await retention.archive_partitions(NOW, tmp_path)
            # `store` still believes June 2017 has a partition; its next append must cope.
            second = await store.append(event("b"))
            assert second.prev_hash == first.hash
        assert OLD_PARTITION in await self._partitions()

    # -- privileges ------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE events SET payload = '{}'",
            "DELETE FROM events",
            "TRUNCATE events",
            "UPDATE events_y2017m06 SET payload = '{}'",
            "DELETE FROM events_y2017m06",
            "TRUNCATE events_y2017m06",
            "UPDATE event_index SET stream_id = stream_id",
            "DELETE FROM event_index",
            "TRUNCATE event_index",
            "DELETE FROM event_archives",
            "ALTER TABLE events DETACH PARTITION events_y2017m06",
            "DROP TABLE events_y2017m06",
            "DROP TABLE events",
            "ALTER TABLE events ENABLE TRIGGER ALL",
        ],
    )
    async def test_the_application_role_is_refused_even_with_triggers_disabled(
        self, statement: str
    ) -> None:
        async with await self.open_store(ManualClock(OLD_MONTH)) as store:
            stored = await store.append_many([event("a"), event("b")])
            async with self._superuser() as connection:
                # Control: the superuser, triggers disabled, gets through (rolled back).
                await _run_without_triggers(connection, statement, role=None)
                # The application role, same triggers disabled: privileges alone refuse.
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await _run_without_triggers(connection, statement, role=APP_ROLE)
            assert await store.read_all() == stored

    async def test_the_application_role_appends_reads_and_follows(self, tmp_path: Path) -> None:
        await (await self.open_store()).close()  # The owner migrates; the app cannot.
        clock = ManualClock(datetime(2016, 1, 10, tzinfo=UTC))
        url = f"{self.store_url}&role={APP_ROLE}"
        async with await open_event_store(url, clock=clock) as app:
            assert "role" not in app.url
            # A month with no partition yet: created through the SECURITY DEFINER function.
            stored = await app.append(event("a"), expected_version=0)
            assert await app.read_all() == [stored]
            assert await app.read_range(clock.now, NOW) == [stored]
            assert await app.wait_for_events(0, 1) is True
            with pytest.raises(RetentionNotPermitted):
                await app.archive_partitions(NOW, tmp_path)
            assert await app.count() == 1
        assert "events_y2016m01" in await self._partitions()
        assert list(tmp_path.iterdir()) == []
        async with self._superuser() as connection:
            owner = await connection.fetchval(
                "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
                self.schema,
                "events_y2016m01",
            )
        assert owner != APP_ROLE

    # -- retention -------------------------------------------------------------------------

    async def test_retention_detaches_and_drops_only_archived_partitions(
        self, tmp_path: Path
    ) -> None:
        clock = ManualClock()
        async with await self.open_store(clock) as store:
            for i, when in enumerate(
                [years_ago(8), years_ago(8, days=17), datetime(2018, 6, 1, tzinfo=UTC)]
            ):
                clock.now = when
                await store.append(event(f"r{i}"))
            clock.now = NOW
            paths = await store.archive_partitions(NOW - RETENTION, tmp_path)
        assert [p.name for p in paths] == ["events-2017-06.jsonl", "events-2017-07.jsonl"]
        partitions = await self._partitions()
        assert "events_y2017m06" not in partitions
        assert "events_y2017m07" not in partitions
        assert "events_y2018m06" in partitions
        async with self._superuser() as connection:
            assert await connection.fetchval("SELECT to_regclass('events_y2017m06')") is None
            archives = await connection.fetch(
                "SELECT month, first_position, last_position, file_name FROM event_archives"
                " ORDER BY first_position"
            )
            assert [tuple(row) for row in archives] == [
                ("2017-06", 1, 1, "events-2017-06.jsonl"),
                ("2017-07", 2, 2, "events-2017-07.jsonl"),
            ]
            # The index keeps every position, archived or not.
            assert await connection.fetchval("SELECT count(*) FROM event_index") == 3

    async def test_empty_old_partitions_are_dropped_without_an_export(self, tmp_path: Path) -> None:
        async with self._superuser() as connection:
            await migrate(connection, self.schema)
            await connection.execute("SELECT ensure_partition(2010, 1)")
        async with await self.open_store() as store:
            assert await store.archive_partitions(NOW - RETENTION, tmp_path) == []
        assert "events_y2010m01" not in await self._partitions()


async def _run_without_triggers(connection: Any, statement: str, *, role: str | None) -> None:
    """Run ``statement`` with every trigger of the store disabled, then roll it all back.

    Disabling triggers needs the owner (here the superuser); ``role`` is then taken with
    ``SET LOCAL ROLE`` for the statement itself. On the partitioned parent DISABLE TRIGGER
    reaches the row triggers cloned onto partitions, but not each partition's own
    TRUNCATE trigger, so every partition is named too.
    """
    transaction = connection.transaction()
    await transaction.start()
    try:
        partitions = await connection.fetch(
            "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass"
        )
        tables = ["events", "event_index", "event_archives"]
        tables += [str(row["relname"]) for row in partitions]
        for table in tables:
            # Names from the catalog of this test's schema, quoted as identifiers.
            await connection.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER ALL')
        if role is not None:
            await connection.execute(f'SET LOCAL ROLE "{role}"')
        await connection.execute(statement)
    finally:
        await transaction.rollback()


def test_notify_channels_fit_in_an_identifier() -> None:
    assert notify_channel("event_store") == "quorate_events_event_store"
    long_one, long_two = "a" * 63, "a" * 62 + "b"
    assert len(notify_channel(long_one)) <= 63
    assert notify_channel(long_one) != notify_channel(long_two)
