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
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosqlite

from storage.projections.checkpoints import CREATE_CHECKPOINTS
from storage.projections.errors import ProjectionDbClosed
from storage.projections.port import (
    SQLITE,
    ConnectionTx,
    ProjectionDb,
    ProjectionTx,
    Row,
    format_timestamp,
)
from storage.sqlite_connection import (
    DEFAULT_BUSY_TIMEOUT_SECONDS,
    MEMORY,
    connect,
    immediate_transaction,
    retry_while_locked,
    rollback,
    row_mapping,
)

_NUMBERED = re.compile(r"\$(\d+)")


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


class _SQLiteTx(ConnectionTx):
    dialect = SQLITE

    async def execute(self, sql: str, *parameters: Any) -> None:
        await self._conn().execute(to_sqlite_sql(sql), _parameters(parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn().executemany(to_sqlite_sql(sql), [_parameters(row) for row in rows])

    async def fetch(self, sql: str, *parameters: Any) -> list[Row]:
        rows = await self._conn().execute_fetchall(to_sqlite_sql(sql), _parameters(parameters))
        return [row_mapping(row) for row in rows]


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
        connection = await connect(database, busy_timeout=busy_timeout, synchronous="NORMAL")
        try:

            async def create_checkpoints() -> None:
                async with immediate_transaction(connection):
                    await connection.execute(SQLITE.ddl(CREATE_CHECKPOINTS))

            await retry_while_locked(create_checkpoints, timeout=busy_timeout)
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
            async with immediate_transaction(connection), _SQLiteTx.over(connection) as tx:
                yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[ProjectionTx]:
        async with self._lock:
            connection = self._conn()
            # A deferred BEGIN holds one WAL snapshot for every query of the block.
            await connection.execute("BEGIN")
            try:
                async with _SQLiteTx.over(connection) as tx:
                    yield tx
            finally:
                await rollback(connection)

    async def close(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                await connection.close()
