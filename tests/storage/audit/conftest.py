"""Fixtures of the audit tests: a real event store on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.storage.audit.support import POSTGRES_URL, Backend, PostgresBackend, SQLiteBackend


def _postgres_reachable() -> None:
    async def ping() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        await connection.close()

    try:
        asyncio.run(ping())
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); start it with "
            "`bash .ci/services`"
        )


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> SQLiteBackend:
    """A fresh SQLite event-store file."""
    return SQLiteBackend(tmp_path)


@pytest.fixture
def postgres_backend() -> Iterator[PostgresBackend]:
    """A fresh PostgreSQL schema, dropped (with its tables) afterwards."""
    _postgres_reachable()
    backend = PostgresBackend(f"qaudit_{uuid4().hex}")
    try:
        yield backend
    finally:
        backend.cleanup()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each test that takes ``backend`` runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield SQLiteBackend(tmp_path)
        return
    _postgres_reachable()
    postgres = PostgresBackend(f"qaudit_{uuid4().hex}")
    try:
        yield postgres
    finally:
        postgres.cleanup()
