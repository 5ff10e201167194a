"""The embedded analytics sink: chdb, ClickHouse running inside this process.

chdb is the default because it needs no server: the projection's tables are MergeTree parts
in a local directory, queried by the same engine a ClickHouse server runs.

One constraint shapes this adapter: chdb embeds *one* ClickHouse per process, bound to one
data directory. Several sinks may be open at once only on the same directory (isolate them
by database instead); opening another directory while one is open raises
:class:`~storage.analytics.errors.AnalyticsUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from chdb.session import Session

from storage.analytics.errors import AnalyticsQueryFailed, AnalyticsUnavailable
from storage.analytics.port import DEFAULT_DATABASE, AnalyticsSink

MEMORY = ":memory:"
"""The path of an in-memory chdb (lost when the process exits)."""


class ChdbSink(AnalyticsSink):
    """Analytics tables in an in-process ClickHouse (chdb) at ``path``."""

    def __init__(self, session: Session, *, path: str, database: str) -> None:
        super().__init__(url=f"chdb:///{path}?database={database}", database=database)
        self._session = session
        self._path = path
        # chdb sessions are thread-safe, but one lock keeps this sink's statements in the
        # order they were awaited, and keeps close() from racing a running query.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, database: str = DEFAULT_DATABASE) -> ChdbSink:
        """Open (creating if needed) the chdb directory ``path`` and the analytics schema."""
        location = str(path)
        if location != MEMORY:
            Path(location).mkdir(parents=True, exist_ok=True)
        try:
            session = await asyncio.to_thread(Session, location)
        except RuntimeError as exc:
            raise AnalyticsUnavailable(
                f"cannot open chdb at {location!r}: {exc} (chdb runs one ClickHouse per "
                "process; open every sink on the same path and isolate them by database)"
            ) from exc
        return await cls(session, path=location, database=database)._opened()

    async def _run(self, sql: str, fmt: str) -> str:
        self._check_open()
        async with self._lock:
            try:
                result = await asyncio.to_thread(self._session.query, sql, fmt)
            except RuntimeError as exc:  # chdb's ChdbError is a RuntimeError
                raise AnalyticsQueryFailed(self.url, sql, str(exc).strip()) from exc
        return str(result)

    async def _execute(self, sql: str) -> None:
        await self._run(sql, "TabSeparated")

    async def _select(self, sql: str) -> list[dict[str, Any]]:
        text = await self._run(sql, "JSONEachRow")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    async def _insert(self, table: str, body: bytes) -> None:
        # chdb takes a query string, so the data follows the FORMAT clause inline; ClickHouse
        # parses only the statement as SQL and streams the rest as data of that format.
        statement = self._insert_statement(table)
        await self._run(statement + "\n" + body.decode("utf-8"), "TabSeparated")

    async def _close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._session.close)
