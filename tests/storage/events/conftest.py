"""Fixtures for the event-store tests, and a runner for ``async def`` tests.

No asyncio pytest plugin is installed, so this directory runs each coroutine test in its own
event loop (``asyncio.run``) with a timeout, so a deadlocked append fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterator
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest

ASYNC_TEST_TIMEOUT_SECONDS = 120.0
POSTGRES_URL = os.environ.get(
    "QUORATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
"""A real PostgreSQL server (ARCHITECTURE.md: tests use 127.0.0.1:5432); never a mock."""


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in inspect.signature(function).parameters}
    asyncio.run(asyncio.wait_for(function(**arguments), ASYNC_TEST_TIMEOUT_SECONDS))
    return True


async def _execute(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh schema name for one test; the schema is dropped (with its tables) afterwards."""
    try:
        asyncio.run(_execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    schema = f"qtest_{uuid4().hex}"
    yield schema
    # The name is generated above from a UUID, so it is a safe identifier.
    asyncio.run(_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
