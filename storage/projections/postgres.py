"""PostgreSQL adapter of the projection database (asyncpg): the production read side.

Projections live in their own schema (``projections`` by default; configurable, and fresh
per test), normally on the same server as the event store but never in its schema: the
event store's role may only append, the projection runner's role owns its tables.

Every connection of the pool runs with ``search_path`` set to that schema alone, so
projection SQL names no schema and is the same text as in SQLite (built-in functions live
in ``pg_catalog``, which PostgreSQL always searches). The schema name is checked against a
strict pattern before it is used anywhere; every value is a parameter.

Write transactions take a transaction-scoped advisory lock keyed by the schema before
anything else, so runners in any number of processes or hosts apply batches one at a time.
A runner killed mid-batch loses its connection; the server then rolls its transaction back
and releases the lock, so the next runner starts from the last committed checkpoint. Reads
run in ``REPEATABLE READ READ ONLY`` transactions: one snapshot for the whole query block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from storage.projections.checkpoints import CREATE_CHECKPOINTS
from storage.projections.errors import ProjectionDbClosed
from storage.projections.port import (
    POSTGRESQL,
    ConnectionTx,
    ProjectionDb,
    ProjectionTx,
    Row,
    check_identifier,
    quote_identifier,
)

DEFAULT_SCHEMA = "projections"
LOCK_CLASS = 0x5152_5052
"""First key of ``pg_advisory_xact_lock(int4, int4)``: Quorate's projections (b"QRPR").

Distinct from the event store's lock class, so a runner never waits for appends."""

_LOCK = "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))"


class _PostgresTx(ConnectionTx):
    dialect = POSTGRESQL

    async def execute(self, sql: str, *parameters: Any) -> None:
        await self._conn().execute(sql, *parameters)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn().executemany(sql, [tuple(row) for row in rows])

    async def fetch(self, sql: str, *parameters: Any) -> list[Row]:
        return [dict(row) for row in await self._conn().fetch(sql, *parameters)]


class PostgresProjectionDb(ProjectionDb):
    """Projections in one PostgreSQL schema. Use :meth:`open`."""

    dialect = POSTGRESQL

    def __init__(self, pool: Any, *, schema: str, url: str) -> None:
        self.url = url
        self.schema = schema
        self._pool: Any = pool

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        url: str | None = None,
        min_size: int = 1,
        max_size: int = 5,
    ) -> PostgresProjectionDb:
        """Connect to ``dsn``; create ``schema`` and the checkpoint table if missing.

        ``url`` is what :attr:`url` shows (without a password); the factory passes it.
        """
        quoted = quote_identifier("schema", schema)
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={
                "application_name": "quorate-projections",
                # A checked identifier ([a-z_][a-z0-9_]*) needs no quoting in search_path.
                "search_path": check_identifier("schema", schema),
            },
        )
        try:
            async with pool.acquire() as connection, connection.transaction():
                # Under the runners' lock: concurrent CREATE ... IF NOT EXISTS statements can
                # still collide in PostgreSQL's catalogs, so openers take turns.
                await connection.execute(_LOCK, LOCK_CLASS, schema)
                await connection.execute("CREATE SCHEMA IF NOT EXISTS " + quoted)
                await connection.execute(POSTGRESQL.ddl(CREATE_CHECKPOINTS))
        except BaseException:
            await pool.close()
            raise
        return cls(pool, schema=schema, url=url or f"postgresql://?schema={schema}")

    def _acquire(self) -> Any:
        if self._pool is None:
            raise ProjectionDbClosed(f"projection database {self.url} is closed")
        return self._pool.acquire()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ProjectionTx]:
        async with self._acquire() as connection, connection.transaction():
            await connection.execute(_LOCK, LOCK_CLASS, self.schema)
            async with _PostgresTx.over(connection) as tx:
                yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[ProjectionTx]:
        async with (
            self._acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
            _PostgresTx.over(connection) as tx,
        ):
            yield tx

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
