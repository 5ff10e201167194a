"""SQLite connections as the event store and the projection database both drive them.

One aiosqlite connection per database file, in WAL mode (readers of other processes never
block the writer), with the sqlite3 module's implicit transactions off: the adapters issue
``BEGIN IMMEDIATE`` themselves (:func:`immediate_transaction`), so a writer takes SQLite's
write lock *before* it reads anything, and a busy timeout makes it wait for that lock
instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import aiosqlite

MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0

_T = TypeVar("_T")
# PRAGMA takes no parameters: each setting is a whole literal statement.
_SYNCHRONOUS = {
    "FULL": "PRAGMA synchronous = FULL",
    "NORMAL": "PRAGMA synchronous = NORMAL",
}


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


async def retry_while_locked(operation: Callable[[], Awaitable[_T]], *, timeout: float) -> _T:
    """Run ``operation``, retrying while another process holds a lock.

    Only for start-up: switching to WAL mode needs an exclusive lock and SQLite does not
    always invoke the busy handler for it, so two processes opening a fresh file at the
    same moment would otherwise fail.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await operation()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.01)


async def connect(
    database: str, *, busy_timeout: float, synchronous: Literal["FULL", "NORMAL"]
) -> aiosqlite.Connection:
    """A configured connection to ``database``: WAL (unless in memory), ``synchronous`` as
    given, rows by name, no implicit transactions; ``busy_timeout`` in seconds."""
    # isolation_level=None: the adapters issue BEGIN IMMEDIATE / COMMIT themselves, instead
    # of the sqlite3 module's implicit deferred transactions, which would read before
    # taking the write lock. `timeout` is SQLite's busy timeout.
    connection = await aiosqlite.connect(database, timeout=busy_timeout, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row

        async def configure() -> None:
            if database != MEMORY:
                await connection.execute("PRAGMA journal_mode = WAL")
            await connection.execute(_SYNCHRONOUS[synchronous])

        await retry_while_locked(configure, timeout=busy_timeout)
    except BaseException:
        await connection.close()
        raise
    return connection


async def rollback(connection: aiosqlite.Connection) -> None:
    """Roll back the open transaction, if there still is one.

    It may already be gone (COMMIT completed before a cancellation arrived, SQLite rolled
    back on error, the connection closed); a failed ROLLBACK must not hide the original
    error.
    """
    with contextlib.suppress(sqlite3.Error, ValueError):
        await connection.execute("ROLLBACK")


@asynccontextmanager
async def immediate_transaction(connection: aiosqlite.Connection) -> AsyncIterator[None]:
    """``BEGIN IMMEDIATE`` (the write lock first), ``COMMIT`` on exit, rollback on error."""
    await connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        await connection.execute("COMMIT")
    except BaseException:
        await rollback(connection)
        raise


def row_mapping(row: sqlite3.Row) -> dict[str, Any]:
    """A row as a dict by column name."""
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row is no dict
