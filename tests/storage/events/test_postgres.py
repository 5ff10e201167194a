"""The event-store contract against a real PostgreSQL server, plus PostgreSQL specifics.

Each test gets a fresh schema (``postgres_schema`` in conftest.py), dropped afterwards, so
tests are isolated from each other and from anything else in the database.
"""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from storage.events.postgres import APPEND_ONLY_SQLSTATE, PostgresEventStore
from tests.storage.events.conftest import POSTGRES_URL
from tests.storage.events.contract import EventStoreContract


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

    async def _execute(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        connection = await self._connect()
        try:
            async with connection.transaction():
                for sql, parameters in statements:
                    await connection.execute(sql, *parameters)
        finally:
            await connection.close()

    async def raw_update_payload(self, position: int, payload_json: str) -> None:
        await self._execute(
            ("UPDATE events SET payload = $1 WHERE position = $2", (payload_json, position))
        )

    async def raw_delete(self, position: int) -> None:
        await self._execute(("DELETE FROM events WHERE position = $1", (position,)))

    async def tamper_payload(self, position: int, payload_json: str) -> None:
        await self._execute(
            ("ALTER TABLE events DISABLE TRIGGER ALL", ()),
            ("UPDATE events SET payload = $1 WHERE position = $2", (payload_json, position)),
            ("ALTER TABLE events ENABLE TRIGGER ALL", ()),
        )

    async def test_database_refuses_truncate(self) -> None:
        store, stored = await self.filled_store(2)
        async with store:
            with pytest.raises(asyncpg.PostgresError, match="append-only") as caught:
                await self._execute(("TRUNCATE events", ()))
            assert caught.value.sqlstate == APPEND_ONLY_SQLSTATE
            assert await store.read_all() == stored

    async def test_migrations_are_recorded_once(self) -> None:
        for _ in range(2):
            await (await self.open_store()).close()
        connection = await self._connect()
        try:
            rows = await connection.fetch("SELECT version FROM event_store_migrations")
        finally:
            await connection.close()
        assert [row["version"] for row in rows] == [1]

    async def test_url_names_the_schema(self) -> None:
        async with await self.open_store() as store:
            assert isinstance(store, PostgresEventStore)
            assert store.schema == self.schema
            assert store.url == self.store_url
