"""Mixins that place a contract test's event store and projection database.

Each sets its URL in an autouse fixture (fresh per test) and implements the contract's hooks
for its database. A test class combines one store mixin, one projection mixin and
:class:`~tests.storage.projections.contract.ProjectionContract`.
"""

from __future__ import annotations

import sqlite3
from itertools import count
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.storage.projections.conftest import POSTGRES_URL, SchemaFactory


class SQLiteStore:
    """The event store in a fresh SQLite file."""

    @pytest.fixture(autouse=True)
    def _store_location(self, tmp_path: Path) -> None:
        self._store_dir = tmp_path / "stores"
        self._stores = count()
        self.store_path = self._store_dir / "events.sqlite3"
        self.store_url = f"sqlite:///{self.store_path}"

    def fresh_store_url(self) -> str:
        return f"sqlite:///{self._store_dir / f'other-{next(self._stores)}.sqlite3'}"

    async def tamper_payload(self, position: int, payload_json: str) -> None:
        # A plain sqlite3 connection, what anyone with the file could use: drop whatever
        # triggers protect the events table, then edit the row.
        connection = sqlite3.connect(self.store_path)
        try:
            triggers = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
            ).fetchall()
            for (name,) in triggers:
                # Names come from the database's own catalogue.
                connection.execute(f'DROP TRIGGER "{name}"')
            connection.execute(
                "UPDATE events SET payload = ? WHERE position = ?", (payload_json, position)
            )
            connection.commit()
        finally:
            connection.close()


class PostgresStore:
    """The event store in a fresh PostgreSQL schema."""

    @pytest.fixture(autouse=True)
    def _store_location(self, postgres_schemas: SchemaFactory) -> None:
        self._schemas = postgres_schemas
        self.store_schema = postgres_schemas("qevt")
        self.store_url = f"{POSTGRES_URL}?schema={self.store_schema}"

    def fresh_store_url(self) -> str:
        return f"{POSTGRES_URL}?schema={self._schemas('qevt')}"

    async def tamper_payload(self, position: int, payload_json: str) -> None:
        # A superuser session with triggers off (replica role), as an intruder with the
        # database's keys could do; it works whatever the triggers are called.
        connection = await asyncpg.connect(
            POSTGRES_URL, server_settings={"search_path": self.store_schema}
        )
        try:
            async with connection.transaction():
                await connection.execute("SET LOCAL session_replication_role = replica")
                await connection.execute(
                    "UPDATE events SET payload = $1 WHERE position = $2", payload_json, position
                )
        finally:
            await connection.close()


class SQLiteProjections:
    """Projections in a fresh SQLite file."""

    @pytest.fixture(autouse=True)
    def _projection_location(self, tmp_path: Path) -> None:
        self._projection_dir = tmp_path / "projections"
        self._projection_dbs = count()
        self.projection_url = f"sqlite:///{self._projection_dir / 'projections.sqlite3'}"

    def fresh_projection_url(self) -> str:
        name = f"fresh-{next(self._projection_dbs)}.sqlite3"
        return f"sqlite:///{self._projection_dir / name}"


class PostgresProjections:
    """Projections in a fresh PostgreSQL schema."""

    @pytest.fixture(autouse=True)
    def _projection_location(self, postgres_schemas: SchemaFactory) -> None:
        self._projection_schemas = postgres_schemas
        self.projection_schema = postgres_schemas("qproj")
        self.projection_url = f"{POSTGRES_URL}?schema={self.projection_schema}"

    def fresh_projection_url(self) -> str:
        return f"{POSTGRES_URL}?schema={self._projection_schemas('qproj')}"
