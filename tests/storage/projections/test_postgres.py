"""The projection contract on PostgreSQL (events and projections in two fresh schemas of the
same server, as deployed), and across databases (SQLite events, PostgreSQL projections):
exactly-once does not depend on the events and the projections sharing a database."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import pytest

from storage.projections import InvalidIdentifier, open_projection_db
from storage.projections.postgres import PostgresProjectionDb
from tests.storage.projections.adapters import (
    PostgresProjections,
    PostgresStore,
    SQLiteStore,
)
from tests.storage.projections.conftest import POSTGRES_URL, SchemaFactory
from tests.storage.projections.contract import ProjectionContract


class TestPostgresProjections(PostgresStore, PostgresProjections, ProjectionContract):
    async def test_tables_live_in_the_configured_schema(self) -> None:
        async with await self.open_db() as db:
            assert isinstance(db, PostgresProjectionDb)
            assert db.schema == self.projection_schema
            assert db.url == self.projection_url
            assert "password" not in db.url
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            rows = await connection.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                self.projection_schema,
            )
        finally:
            await connection.close()
        assert [row["table_name"] for row in rows] == ["projection_checkpoints"]


class TestSQLiteEventsPostgresProjections(SQLiteStore, PostgresProjections, ProjectionContract):
    pass


async def test_default_schema_and_bad_schema_names(postgres_schemas: SchemaFactory) -> None:
    with pytest.raises(InvalidIdentifier):
        await open_projection_db(f"{POSTGRES_URL}?schema=Robert%22%3B%20DROP")
    with pytest.raises(InvalidIdentifier):
        await open_projection_db(f"{POSTGRES_URL}?schema=pg_catalog")
    schema = postgres_schemas("qproj")
    async with await open_projection_db(
        f"postgres://postgres:secret@127.0.0.1:5432/test?schema={schema}"
    ) as db:
        assert db.url == f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}"
