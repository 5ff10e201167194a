"""The projection ports: the relational database projections live in, and the projection.

CQRS read models follow the event store (ARCHITECTURE.md, "How a signature is made", step
7). A :class:`Projection` turns events into rows; a :class:`ProjectionDb` is the relational
database holding those rows *and* each projection's checkpoint, so that the runner
(:mod:`storage.projections.runner`) commits a batch's rows and the checkpoint that says
"applied up to here" in one transaction. That is the whole exactly-once argument: after a
crash either both are there or neither is, whichever database the events live in.

SQL dialect. Projections write one SQL text for both adapters:

* parameters are numbered, PostgreSQL style: ``$1``, ``$2``... (the SQLite adapter rewrites
  them to SQLite's equivalent ``?1``, ``?2``...); values are always parameters;
* timestamps are bound as timezone-aware :class:`~datetime.datetime` values and read back
  with :func:`as_datetime`; the column type in DDL is spelled ``{timestamp}`` and filled in
  by :meth:`Dialect.ddl` (``timestamptz`` in PostgreSQL; in SQLite ``TEXT`` holding
  fixed-width ISO-8601 UTC, ``2025-01-02T03:04:05.678901+00:00``, so text order is time
  order and range queries use the index);
* lists are stored as canonical JSON text (:func:`dump_json` / :func:`load_json`);
* upserts use ``INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x``, which both
  databases accept.

Tables are unqualified: the PostgreSQL adapter sets ``search_path`` to its own schema, so the
same SQL works in a schema or in an SQLite file, and ad-hoc queries by auditors need no
schema prefix either.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self

from storage.closing import AsyncClosing
from storage.events.errors import UnknownEventType
from storage.events.models import DomainEvent, parse_event
from storage.events.port import EventStore, StoredEvent, canonical_json, verify_chain
from storage.identifiers import is_identifier
from storage.projections.errors import (
    InvalidIdentifier,
    ProjectionApplyFailed,
    ProjectionDbClosed,
)

Row = dict[str, Any]
"""One result row, by column name."""


def check_identifier(kind: str, name: str) -> str:
    """``name`` if it is a safe SQL identifier (:func:`storage.identifiers.is_identifier`).

    Raises :class:`InvalidIdentifier` otherwise. Identifiers cannot be bound as parameters,
    so this check is what keeps schema and table names out of SQL injection's reach.
    """
    if not is_identifier(name):
        raise InvalidIdentifier(kind, name)
    return name


def quote_identifier(kind: str, name: str) -> str:
    """``name`` checked by :func:`check_identifier`, then double-quoted for SQL."""
    return '"' + check_identifier(kind, name) + '"'


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the two databases, as far as projection SQL is concerned."""

    name: Literal["sqlite", "postgresql"]
    timestamp_type: str
    no_limit: int | None
    """The ``LIMIT`` parameter meaning "no limit" (SQLite: -1; PostgreSQL: NULL)."""
    json_array_elements: str
    """A subquery of the text elements of the JSON-array parameter ``$1``, so a batch's
    keys are one parameter (``WHERE id IN ({json_array})``) whatever the batch size."""

    def ddl(self, template: str) -> str:
        """``template`` with ``{timestamp}`` replaced by this dialect's timestamp type.

        Only for DDL written in this package: the substituted text is a constant type name,
        never a value.
        """
        return template.format(timestamp=self.timestamp_type)

    def in_json_array(self, template: str) -> str:
        """``template`` with ``{json_array}`` replaced by :attr:`json_array_elements`.

        Only for queries written in this package: the substituted text is constant SQL, and
        the keys stay one bound parameter.
        """
        return template.format(json_array=self.json_array_elements)

    def limit(self, limit: int | None) -> int | None:
        """The ``LIMIT`` parameter for ``limit`` rows (``None``: all of them)."""
        if limit is None:
            return self.no_limit
        if limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit}")
        return limit


SQLITE = Dialect(
    name="sqlite",
    timestamp_type="TEXT",
    no_limit=-1,
    json_array_elements="SELECT value FROM json_each($1)",
)
POSTGRESQL = Dialect(
    name="postgresql",
    timestamp_type="TIMESTAMPTZ",
    no_limit=None,
    json_array_elements="SELECT json_array_elements_text($1::json)",
)


def format_timestamp(value: datetime) -> str:
    """ISO-8601 in UTC with microseconds: how the SQLite adapter stores a timestamp.

    Fixed width (always microseconds, always ``+00:00``), so comparing the text compares the
    instants. Naive datetimes are refused: an instant without a zone is ambiguous.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def check_window(start: datetime, end: datetime, names: tuple[str, str] = ("start", "end")) -> None:
    """Refuse a naive bound or an end before the start: every range query's one check.

    ``names`` are the bounds as the caller's parameters call them, for the message.
    """
    format_timestamp(start)
    format_timestamp(end)
    if end < start:
        raise ValueError(f"{names[1]} {end.isoformat()} is before {names[0]} {start.isoformat()}")


def as_datetime(value: object) -> datetime | None:
    """A column value read back as an aware UTC datetime (``None`` stays ``None``).

    PostgreSQL returns ``datetime``; SQLite returns the text :func:`format_timestamp` wrote.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    raise TypeError(f"not a timestamp: {value!r}")


def require_datetime(value: object) -> datetime:
    """:func:`as_datetime` for a NOT NULL column."""
    converted = as_datetime(value)
    if converted is None:
        raise TypeError("timestamp column is NULL")
    return converted


def dump_json(value: Any) -> str:
    """Canonical JSON text for a list or mapping column (one spelling per value)."""
    return canonical_json(value)


def load_json(value: object) -> Any:
    """The value of a JSON text column (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"not JSON text: {value!r}")
    return json.loads(value)


Decoder = Callable[[Any], Any]
"""How one column's stored value is read back (``int``, :func:`as_datetime`...)."""


def as_is(value: Any) -> Any:
    """The :data:`Decoder` of a column whose value needs no conversion (text, mostly)."""
    return value


def optional_int(value: object) -> int | None:
    """The :data:`Decoder` of a nullable integer column (``None`` stays ``None``)."""
    return None if value is None else int(str(value))


def decode_row(row: Row, decoders: Mapping[str, Decoder]) -> dict[str, Any]:
    """The columns ``decoders`` names, each read back through its decoder.

    One table of decoders per table serves every model built from its rows, so a column's
    conversion is written once and the SQLite and PostgreSQL values come back alike.
    """
    return {name: decode(row[name]) for name, decode in decoders.items()}


def decode_domain_event(stored: StoredEvent) -> DomainEvent | None:
    """The typed domain event in ``stored``, or ``None`` if its type is unknown to this code.

    Unknown types are skipped rather than fatal: an older runner must keep following a log
    that a newer Quorate writes new event types to (``NoncesCommitted`` and
    ``PresignaturesAdded`` are expected). The runner still advances the checkpoint past
    them. A *known* type that fails to decode raises
    :class:`~storage.events.errors.EventDecodeError`, which stops the runner.
    """
    try:
        return parse_event(stored)
    except UnknownEventType:
        return None


class ProjectionTx(ABC):
    """One open transaction on the projection database.

    SQL uses ``$1``-style parameters and the conventions of this module's docstring.
    """

    dialect: Dialect

    @abstractmethod
    async def execute(self, sql: str, *parameters: Any) -> None:
        """Run one statement."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per parameter row."""

    @abstractmethod
    async def fetch(self, sql: str, *parameters: Any) -> list[Row]:
        """Every row of a query."""

    async def fetchrow(self, sql: str, *parameters: Any) -> Row | None:
        """The first row of a query, or ``None``."""
        rows = await self.fetch(sql, *parameters)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *parameters: Any) -> Any:
        """The first column of the first row, or ``None``."""
        row = await self.fetchrow(sql, *parameters)
        return None if row is None else next(iter(row.values()))


class ConnectionTx(ProjectionTx):
    """A :class:`ProjectionTx` on one of an adapter's connections, for one block only.

    Open it with :meth:`over`; once the block is left, any use raises
    :class:`~storage.projections.errors.ProjectionDbClosed`.
    """

    def __init__(self, connection: Any) -> None:
        self._connection: Any = connection

    def _conn(self) -> Any:
        if self._connection is None:
            raise ProjectionDbClosed("the transaction has ended")
        return self._connection

    @classmethod
    @asynccontextmanager
    async def over(cls, connection: Any) -> AsyncIterator[Self]:
        """A transaction object on ``connection``, usable inside the ``async with`` only."""
        tx = cls(connection)
        try:
            yield tx
        finally:
            tx._connection = None


class ProjectionDb(AsyncClosing):
    """The relational database that holds projection rows and checkpoints.

    :meth:`transaction` is a write transaction, serialized across every process using the
    same database (``BEGIN IMMEDIATE`` in SQLite, a transaction-scoped advisory lock in
    PostgreSQL), so two runners never apply the same batch twice. :meth:`read` is a
    consistent read-only snapshot for queries. Use as ``async with`` to close on exit.
    """

    url: str
    """Where the database lives, for logs and errors; never contains a password."""

    dialect: Dialect

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[ProjectionTx]:
        """A serialized write transaction: committed on normal exit, rolled back on error."""

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[ProjectionTx]:
        """A read-only snapshot (queries see one committed state throughout)."""


class Projection(ABC):
    """A read model built by folding the event log, one event at a time, in position order.

    ``name`` keys the projection's checkpoint (``[a-z_][a-z0-9_]*``). ``version`` is bumped
    whenever the projection's tables or its folding rules change: the runner then resets it
    and replays it from event zero. ``tables`` lists every table the projection owns, which
    the default :meth:`reset` drops.

    ``apply`` must be a deterministic function of the events (use ``recorded_at``, never the
    wall clock): that is what makes a rebuild equal to the incremental result, and what the
    kill test checks.
    """

    name: str
    version: int
    tables: tuple[str, ...] = ()

    @abstractmethod
    async def setup(self, tx: ProjectionTx) -> None:
        """Create the projection's tables and indexes if missing (idempotent)."""

    @abstractmethod
    async def apply(self, tx: ProjectionTx, event: StoredEvent) -> None:
        """Fold one event into the tables. Unknown event types must be skipped quietly."""

    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        """Fold consecutive events, in order; what the runner calls, once per batch.

        This default applies them one at a time. A projection may override it to read and
        write each of its rows once per batch instead of once per event (the built-in health
        and audit projections do, and define :meth:`apply` as a batch of one); the result
        must equal one-at-a-time application, which the contract tests check by comparing
        batch sizes. An error names the event it failed on.
        """
        for event in events:
            try:
                await self.apply(tx, event)
            except ProjectionApplyFailed:
                raise
            except Exception as exc:
                raise ProjectionApplyFailed(
                    projection=self.name, position=event.position, event_type=event.event_type
                ) from exc

    async def reset(self, tx: ProjectionTx) -> None:
        """Remove everything the projection stored; :meth:`setup` then starts afresh.

        Tables are dropped rather than emptied, so a version bump may change their layout.
        """
        for table in self.tables:
            await tx.execute("DROP TABLE IF EXISTS " + quote_identifier("table", table))


class BatchProjection(Projection):
    """A projection that creates its tables with :attr:`ddl` and folds whole batches.

    :meth:`apply` is a batch of one, so the event-at-a-time result is the batch result by
    construction (the built-in projections all fold batches, reading and writing each of
    their rows once per batch).
    """

    ddl: tuple[str, ...] = ()
    """``CREATE ... IF NOT EXISTS`` statements, with ``{timestamp}`` for the dialect's type."""

    async def setup(self, tx: ProjectionTx) -> None:
        for statement in self.ddl:
            await tx.execute(tx.dialect.ddl(statement))

    async def apply(self, tx: ProjectionTx, event: StoredEvent) -> None:
        await self.apply_batch(tx, [event])

    @abstractmethod
    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        """Fold consecutive events, in order (see :meth:`Projection.apply_batch`)."""


async def verified_events(store: EventStore, *, page_size: int) -> AsyncIterator[StoredEvent]:
    """The whole live log from position 1, read ``page_size`` events at a time.

    Each page is checked against the hash chain before any of it is yielded
    (:class:`~storage.events.errors.ChainBroken` on tampering). The live log must start at
    position 1: after the store has archived old months, the chain check refuses (an
    answer folded from it would silently miss the archived events).
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    previous: StoredEvent | None = None
    while True:
        page = await store.read_all(
            after_position=previous.position if previous else 0, limit=page_size
        )
        if not page:
            return
        verify_chain(page, previous=previous)
        previous = page[-1]
        for event in page:
            yield event
