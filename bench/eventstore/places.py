"""Where each measurement runs: fresh PostgreSQL schemas and SQLite files, all removed on
exit; and the PostgreSQL server's version (or why it cannot be reached)."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def quoted(schema: str) -> str:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"bad schema name {schema!r}")
    return '"' + schema + '"'


class Places:
    """Fresh PostgreSQL schemas and SQLite files for each measurement; all dropped at exit."""

    def __init__(self, postgres: str | None) -> None:
        self.postgres = postgres
        self.run = uuid.uuid4().hex[:8]
        self.schemas: list[str] = []
        self.directory = Path(tempfile.mkdtemp(prefix="quorate-bench-eventstore-"))
        self._counter = 0

    def schema(self, purpose: str) -> str:
        self._counter += 1
        name = f"bench_es_{self.run}_{self._counter}_{purpose}"
        quoted(name)  # checks the name
        self.schemas.append(name)
        return name

    def pg_url(self, schema: str) -> str:
        if self.postgres is None:
            raise RuntimeError("PostgreSQL is not available")
        separator = "&" if "?" in self.postgres else "?"
        return f"{self.postgres}{separator}schema={schema}"

    def sqlite_path(self, purpose: str) -> Path:
        self._counter += 1
        return self.directory / f"{self._counter}-{purpose}.sqlite3"

    async def drop_now(self, *schemas: str) -> None:
        """Drop ``schemas`` (and everything in them) now, to free disk for the next step."""
        if self.postgres is None:
            return
        connection = await asyncpg.connect(self.postgres)
        try:
            for schema in schemas:
                await connection.execute(f"DROP SCHEMA IF EXISTS {quoted(schema)} CASCADE")
        finally:
            await connection.close()

    async def drop(self) -> list[str]:
        """Drop every schema this run created and remove the SQLite files; the names dropped."""
        if self.postgres is not None and self.schemas:
            await self.drop_now(*self.schemas)
        shutil.rmtree(self.directory, ignore_errors=True)
        return list(self.schemas)


async def postgres_version(dsn: str) -> tuple[str | None, str | None]:
    """The server's version, or (None, why not) when it cannot be reached."""
    try:
        connection = await asyncio.wait_for(asyncpg.connect(dsn), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return None, f"{type(error).__name__}: {error}"
    try:
        return str(await connection.fetchval("SHOW server_version")), None
    finally:
        await connection.close()
