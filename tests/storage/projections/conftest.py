"""Fixtures for the projection tests: PostgreSQL schemas created fresh and dropped after.

The tests talk to a real PostgreSQL server (ARCHITECTURE.md: 127.0.0.1:5432 in tests; start
it with ``bash .ci/services``), never a mock.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest

POSTGRES_URL = os.environ.get(
    "QUORATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

SchemaFactory = Callable[[str], str]


@pytest.fixture
async def postgres_schemas() -> AsyncIterator[SchemaFactory]:
    """A factory of fresh schema names (``prefix_<uuid>``); every one is dropped afterwards.

    The adapters create the schemas themselves when they open; this fixture only names them
    and cleans up.
    """
    try:
        connection = await asyncpg.connect(POSTGRES_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); start it with "
            "`bash .ci/services`"
        )
    names: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid4().hex}"
        names.append(name)
        return name

    try:
        yield make
    finally:
        for name in names:
            # Generated above from a constant prefix and a UUID: a safe identifier.
            await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await connection.close()
