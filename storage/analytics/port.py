"""The analytics sink port: where the forensics projection lives (ClickHouse, any flavour).

Adapters: :class:`~storage.analytics.embedded.ChdbSink` (chdb, ClickHouse in process, the
embedded default), :class:`~storage.analytics.server.ClickHouseConnectSink` (a ClickHouse
server through clickhouse-connect) and :class:`~storage.analytics.server.ClickHouseHttpSink`
(a ClickHouse server through its plain HTTP interface, for servers too old for
clickhouse-connect such as Debian's 18.16). Every adapter runs the one contract suite in
``tests/storage/analytics/contract.py``.

An adapter only moves SQL text and ``JSONEachRow`` data (:meth:`AnalyticsSink._execute`,
:meth:`AnalyticsSink._select`, :meth:`AnalyticsSink._insert`); the schema, the writes and
the checkpoint are written once here, in SQL every adapter's ClickHouse understands.

Exactly-once, without transactions. ClickHouse has no multi-statement transaction, so a
batch's rows and its checkpoint cannot commit together, and a crash can fall between them.
Readers still see every event's effect exactly once, for two reasons:

1. *No duplicates.* Rows are keyed by the event's position (the last column of every sorting
   key) in ``ReplacingMergeTree`` tables, and every read uses ``FINAL``. Re-applying a batch
   after a crash re-inserts rows with the same keys, which collapse into one row, at merge
   time physically and at once for ``FINAL`` readers.
2. *No partial batches.* Every query reads only rows with ``position`` at or below the
   projection's checkpoint (:data:`VISIBLE_POSITION`). The checkpoint is written after the
   batch's inserts, in a single-row insert that is atomic in ClickHouse; so a batch becomes
   visible all at once when its checkpoint lands, and the rows of a batch whose checkpoint
   never landed stay invisible until a re-run writes them again (identically) and then the
   checkpoint.

A re-run starts after the checkpoint, so no event is skipped (no gap), and the checkpoint's
position is the version of its ``ReplacingMergeTree``, so it never moves backwards, even if
two projectors race over the same sink.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from storage.analytics.errors import AnalyticsSinkClosed
from storage.analytics.rows import JsonRow, ProjectedBatch
from storage.analytics.sql import (
    ANALYTICS_TABLES,
    Fragment,
    Identifier,
    SqlValue,
    bind,
    schema_statements,
)
from storage.closing import AsyncClosing

ANALYTICS_PROJECTION = "analytics"
"""The checkpoint key of the forensics projection."""

DEFAULT_DATABASE = "quorate_analytics"
"""The database the analytics tables live in when a URL names none."""

VISIBLE_POSITION = (
    "(SELECT max(position) FROM {db}.checkpoint WHERE projection_name = {projection})"
)
"""SQL for the last position readers may see: the projection's checkpoint (0 if none).

``max`` without ``FINAL`` is right here: the newest checkpoint row is also the highest.
"""


def visible_condition(database: Identifier, projection: str = ANALYTICS_PROJECTION) -> Fragment:
    """``position <= checkpoint``, bound: add it to any hand-written query of the tables."""
    return Fragment.bound(
        "position <= " + VISIBLE_POSITION, {"db": database, "projection": projection}
    )


class Checkpoint(BaseModel):
    """The last event a projection applied: its position and hash (to detect tampering)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    projection: str = Field(min_length=1)
    position: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class AnalyticsSink(AsyncClosing):
    """A ClickHouse database holding the forensics projection; use as ``async with``.

    Subclasses implement the transport (three methods and :meth:`close`); everything else is
    shared, so all adapters write byte-identical rows and run identical queries.
    """

    url: str
    """Where the sink lives, for logs and errors; never contains a password."""

    def __init__(self, *, url: str, database: str) -> None:
        self.url = url
        self.database = Identifier(database)
        self._closed = False

    # -- the transport, one per adapter ------------------------------------------------

    @abstractmethod
    async def _execute(self, sql: str) -> None:
        """Run a statement that returns no rows (DDL, ``TRUNCATE``, ``OPTIMIZE``)."""

    @abstractmethod
    async def _select(self, sql: str) -> list[dict[str, Any]]:
        """Run a ``SELECT`` (without a ``FORMAT`` clause) and return its rows as JSON objects.

        Integers may come back as numbers or as strings (``JSONEachRow`` quotes 64-bit
        integers on older servers), so callers convert with ``int()``.
        """

    @abstractmethod
    async def _insert(self, table: str, body: bytes) -> None:
        """Insert ``body``, ``JSONEachRow`` lines, into ``database.table`` in one statement."""

    @abstractmethod
    async def _close(self) -> None:
        """Release the adapter's connection or session."""

    # -- shared behaviour --------------------------------------------------------------

    def _bind(self, template: str, params: Mapping[str, SqlValue] | None) -> str:
        # {db} is always on offer; a template need not use it.
        return bind(template, {"db": self.database, **(params or {})}, optional=frozenset({"db"}))

    def _insert_statement(self, table: str) -> str:
        """``INSERT INTO db.table FORMAT JSONEachRow``, for adapters to send with the data."""
        return bind(
            "INSERT INTO {db}.{table} FORMAT JSONEachRow",
            {"db": self.database, "table": Identifier(table)},
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise AnalyticsSinkClosed(f"analytics sink {self.url} is closed")

    async def ensure_schema(self) -> None:
        """Create the database and tables if missing; safe to call any number of times."""
        self._check_open()
        for statement in schema_statements(self.database):
            await self._execute(statement)

    async def _opened(self, *, create_schema: bool = True) -> Self:
        """This new sink, its schema created first (if ``create_schema``); closed on failure.

        What every adapter's ``open`` ends with.
        """
        try:
            if create_schema:
                await self.ensure_schema()
        except BaseException:
            await self.close()
            raise
        return self

    async def select(
        self, template: str, params: Mapping[str, SqlValue] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a ``SELECT`` template, bound with :func:`~storage.analytics.sql.bind`.

        ``{db}`` is bound to this sink's database; pass the other values in ``params``.
        """
        self._check_open()
        return await self._select(self._bind(template, params))

    async def execute(self, template: str, params: Mapping[str, SqlValue] | None = None) -> None:
        """Run a statement template that returns no rows, bound as in :meth:`select`."""
        self._check_open()
        await self._execute(self._bind(template, params))

    async def insert_rows(self, table: str, rows: Sequence[JsonRow]) -> None:
        """Insert ``rows`` into one of :data:`ANALYTICS_TABLES` in a single statement.

        A single ``INSERT`` of fewer than ``max_insert_block_size`` (about a million) rows
        becomes one data part, which ClickHouse commits atomically.
        """
        self._check_open()
        if table not in ANALYTICS_TABLES:
            raise ValueError(f"unknown analytics table {table!r}")
        if not rows:
            return
        # ensure_ascii=False: raw UTF-8 inside JSON strings is read byte for byte by every
        # ClickHouse version, while \\u escapes of astral characters are not by old ones.
        body = "".join(
            json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
        ).encode("utf-8")
        await self._insert(table, body)

    async def insert_batch(self, batch: ProjectedBatch) -> None:
        """Insert a batch's rows (events, then signatures); idempotent by position."""
        await self.insert_rows("events", [row.to_json_row() for row in batch.events])
        await self.insert_rows("signatures", [row.to_json_row() for row in batch.signatures])

    async def read_checkpoint(self, projection: str = ANALYTICS_PROJECTION) -> Checkpoint | None:
        """The projection's checkpoint, or ``None`` if it has applied nothing yet."""
        rows = await self.select(
            """
            SELECT position, hash FROM {db}.checkpoint FINAL
            WHERE projection_name = {projection}
            ORDER BY position DESC
            LIMIT 1
            """,
            {"projection": projection},
        )
        if not rows:
            return None
        return Checkpoint(
            projection=projection, position=int(rows[0]["position"]), hash=rows[0]["hash"]
        )

    async def write_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Record that every event up to ``checkpoint.position`` is in the tables.

        Call it only after the batch's inserts returned: it is what makes them visible.
        """
        await self.insert_rows(
            "checkpoint",
            [
                {
                    "projection_name": checkpoint.projection,
                    "position": checkpoint.position,
                    "hash": checkpoint.hash,
                }
            ],
        )

    async def truncate(self) -> None:
        """Empty every table, the checkpoint first so readers never see a half-empty state."""
        self._check_open()
        for table in reversed(ANALYTICS_TABLES):
            await self._execute(
                bind(
                    "TRUNCATE TABLE {db}.{table}", {"db": self.database, "table": Identifier(table)}
                )
            )

    async def optimize(self) -> None:
        """Merge every table's parts now (``OPTIMIZE ... FINAL``), collapsing duplicate rows.

        Never needed for correct reads (they use ``FINAL``); useful in tests and after a
        large rebuild, to make the physical row count equal the logical one.
        """
        self._check_open()
        for table in ANALYTICS_TABLES:
            await self._execute(
                bind(
                    "OPTIMIZE TABLE {db}.{table} FINAL",
                    {"db": self.database, "table": Identifier(table)},
                )
            )

    async def drop_database(self) -> None:
        """Drop the whole analytics database (tests and decommissioning only)."""
        self._check_open()
        await self._execute(bind("DROP DATABASE IF EXISTS {db}", {"db": self.database}))

    async def close(self) -> None:
        """Release the connection or session; idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._close()
