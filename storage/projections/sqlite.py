"""Embedded SQLite adapter of the projection database: the development and demo default.

One file holds every projection's tables and the checkpoints. Write transactions start with
``BEGIN IMMEDIATE``, which takes SQLite's write lock before anything is read, so runners in
several processes queue instead of interleaving (a busy timeout makes them wait). Within a
process one connection is shared and an ``asyncio.Lock`` keeps tasks from running
statements inside each other's transactions. WAL mode lets readers of other processes (the
audit CLI) query while a runner writes.

``synchronous = NORMAL`` rather than ``FULL``: in WAL mode a power loss can then lose the
last commits, but never tear one, and a lost commit only means the runner replays those
events from the older checkpoint that survived with them. The event store, which is the
system of record, stays at ``FULL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.projections.checkpoints import CREATE_CHECKPOINTS
from storage.projections.errors import ProjectionDbClosed
from storage.projections.port import (
    SQLITE,
    ProjectionDb,
    ProjectionTx,
    Row,
    format_timestamp,
)

MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0

_NUMBERED = re.compile(r"\$(\d+)")
_T = TypeVar("_T")


@lru_cache(maxsize=512)
def to_sqlite_sql(sql: str) -> str:
    """``$n`` parameters rewritten to SQLite's ``?n`` (the same numbered binding).

    Projection SQL never contains ``$`` elsewhere (no dollar-quoted strings), so the
    rewrite cannot touch anything but placeholders.
    """
    return _NUMBERED.sub(r"?\1", sql)


def _bind(value: Any) -> Any:
    # Timestamps go in as fixed-width UTC text (see storage.projections.port), so the
    # stored text sorts in time order; sqlite3's own datetime adapter drops zero
    # microseconds and is deprecated.
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value


def _parameters(parameters: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_bind(value) for value in parameters)


def _row(row: sqlite3.Row) -> Row:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row is no dict


class _SQLiteTx(ProjectionTx):
    dialect = SQLITE

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection: aiosqlite.Connection | None = connection

    def _conn(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise ProjectionDbClosed("the transaction has ended")
        return self._connection

    def end(self) -> None:
        self._connection = None

    async def execute(self, sql: str, *parameters: Any) -> None:
        await self._conn().execute(to_sqlite_sql(sql), _parameters(parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn().executemany(to_sqlite_sql(sql), [_parameters(row) for row in rows])

    async def fetch(self, sql: str, *parameters: Any) -> list[Row]:
        rows = await self._conn().execute_fetchall(to_sqlite_sql(sql), _parameters(parameters))
        return [_row(row) for row in rows]


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


async def _retry_while_locked(operation: Callable[[], Awaitable[_T]], *, timeout: float) -> _T:
    # Switching to WAL needs an exclusive lock and SQLite does not always call the busy
    # handler for it, so two processes opening a fresh file together would otherwise fail.
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await operation()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.01)


async def _rollback(connection: aiosqlite.Connection) -> None:
    # The transaction may already be gone (SQLite rolls back on some errors); a failed
    # ROLLBACK must not hide the original error.
    with contextlib.suppress(sqlite3.Error, ValueError):
        await connection.execute("ROLLBACK")


class SQLiteProjectionDb(ProjectionDb):
    """Projections in one SQLite file (or in memory, for tests). Use :meth:`open`."""

    dialect = SQLITE

    def __init__(self, connection: aiosqlite.Connection, *, url: str) -> None:
        self.url = url
        self._connection: aiosqlite.Connection | None = connection
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS
    ) -> SQLiteProjectionDb:
        """Open (creating if missing) the database at ``path``; ``":memory:"`` for a private one."""
        database = str(path)
        if database != MEMORY:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are issued explicitly (BEGIN IMMEDIATE), not
        # by the sqlite3 module's implicit deferred BEGIN.
        connection = await aiosqlite.connect(database, timeout=busy_timeout, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row

            async def configure() -> None:
                if database != MEMORY:
                    await connection.execute("PRAGMA journal_mode = WAL")
                await connection.execute("PRAGMA synchronous = NORMAL")
                await connection.execute("BEGIN IMMEDIATE")
                try:
                    await connection.execute(SQLITE.ddl(CREATE_CHECKPOINTS))
                    await connection.execute("COMMIT")
                except BaseException:
                    await _rollback(connection)
                    raise

            await _retry_while_locked(configure, timeout=busy_timeout)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, url="sqlite:///" + database)

    def _conn(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise ProjectionDbClosed(f"projection database {self.url} is closed")
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ProjectionTx]:
        async with self._lock:
            connection = self._conn()
            await connection.execute("BEGIN IMMEDIATE")
            tx = _SQLiteTx(connection)
            try:
                yield tx
                await connection.execute("COMMIT")
            except BaseException:
                await _rollback(connection)
                raise
            finally:
                tx.end()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[ProjectionTx]:
        async with self._lock:
            connection = self._conn()
            # A deferred BEGIN holds one WAL snapshot for every query of the block.
            await connection.execute("BEGIN")
            tx = _SQLiteTx(connection)
            try:
                yield tx
            finally:
                tx.end()
                await _rollback(connection)

    async def close(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                await connection.close()
