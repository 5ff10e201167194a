"""ClickHouse SQL shared by every analytics adapter: value binding and the schema.

Why client-side binding. Server-side query parameters (``{name:Type}``) arrived in ClickHouse
19.x; Debian's ``clickhouse-server`` is 18.16, and the same SQL must run there, in chdb
(ClickHouse 26.x in process) and on a current server through clickhouse-connect. So values
are rendered here as typed, escaped literals by :func:`bind`, the way clickhouse-connect's own
client-side binding does, and never pasted into SQL by hand. Rows are never rendered as SQL
at all: they travel as ``JSONEachRow`` data, which every ClickHouse since 1.1 parses.

Why this schema (every statement runs unchanged on 18.16 and 26.x):

* ``DateTime('UTC')`` holds whole seconds and ``recorded_at_us`` the exact microseconds
  since the epoch: ``DateTime64`` (ClickHouse 20.1) does not exist on 18.16. Time windows
  filter on ``recorded_at_us`` for exactness and also on ``recorded_at`` so the primary key
  prunes granules.
* Every table is a ``ReplacingMergeTree`` whose sorting key ends with the event's
  ``position``: an event's sorting-key values never change (events are immutable), so a
  re-inserted event has the same key and collapses into one row at merge time; readers use
  ``FINAL`` so they never see the copies that are still waiting for a merge.
* Monthly partitions by ``recorded_at``, as in the event store, so a retention job can drop
  or move whole months.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from storage.analytics.errors import InvalidAnalyticsQuery

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Identifier:
    """A database or table name, rendered in backquotes after a strict check."""

    name: str

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.name):
            raise InvalidAnalyticsQuery(
                f"invalid ClickHouse identifier {self.name!r}: use 1-63 characters of "
                "[A-Za-z0-9_], starting with a letter or underscore"
            )

    def render(self) -> str:
        """The identifier as SQL; the check above leaves nothing to escape."""
        return f"`{self.name}`"


@dataclass(frozen=True, slots=True)
class Fragment:
    """A piece of SQL already produced by :func:`bind`, spliced in verbatim.

    Lets a query assemble optional clauses (filters, ``LIMIT``) while every value still
    passes through :func:`literal` exactly once.
    """

    sql: str

    @classmethod
    def bound(cls, template: str, params: Mapping[str, SqlValue]) -> Fragment:
        """The fragment ``bind(template, params)``."""
        return cls(bind(template, params))


SqlValue = str | int | datetime | date | Identifier | Fragment | tuple[str, ...]
"""What :func:`bind` can render. ``bool`` and ``float`` are refused: no query needs them."""


def _string_literal(value: str) -> str:
    out = ["'"]
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            # Control characters as \xHH escapes (understood by 18.16 and 26.x alike), so a
            # literal never spans lines or carries a raw NUL.
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


def literal(value: SqlValue) -> str:
    """``value`` as a ClickHouse literal; raises :class:`InvalidAnalyticsQuery` if it cannot be."""
    if isinstance(value, Identifier):
        return value.render()
    if isinstance(value, Fragment):
        return value.sql
    if isinstance(value, bool):
        # bool is an int subclass; refusing it keeps True from silently meaning 1.
        raise InvalidAnalyticsQuery("booleans are not bound; pass an int")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, datetime):
        return f"toDateTime({_string_literal(format_datetime(value))}, 'UTC')"
    if isinstance(value, date):
        return f"toDate({_string_literal(value.isoformat())})"
    if isinstance(value, tuple):
        if not value:
            raise InvalidAnalyticsQuery("an empty tuple has no SQL literal")
        return "(" + ", ".join(_string_literal(item) for item in value) + ")"
    raise InvalidAnalyticsQuery(f"cannot bind a value of type {type(value).__name__}")


def bind(
    template: str,
    params: Mapping[str, SqlValue],
    *,
    optional: frozenset[str] = frozenset(),
) -> str:
    """``template`` with every ``{name}`` replaced by ``literal(params[name])``.

    Every placeholder must have a value, and every value but those named in ``optional`` a
    placeholder, so a typo fails loudly instead of producing a query that silently ignores
    a filter.
    """
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise InvalidAnalyticsQuery(f"no value bound for {{{name}}}")
        used.add(name)
        return literal(params[name])

    rendered = _PLACEHOLDER.sub(substitute, template)
    unused = set(params) - used - optional
    if unused:
        raise InvalidAnalyticsQuery(f"values bound but not used: {sorted(unused)}")
    return rendered


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; naive datetimes are refused (their instant is unknowable)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidAnalyticsQuery(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_microseconds(value: datetime) -> int:
    """Exact microseconds since the Unix epoch (integer arithmetic, no float rounding)."""
    return (require_aware(value, "time") - _EPOCH) // _MICROSECOND


def from_epoch_microseconds(value: int) -> datetime:
    """The UTC instant ``value`` microseconds after the Unix epoch."""
    return _EPOCH + value * _MICROSECOND


def format_datetime(value: datetime) -> str:
    """``YYYY-MM-DD hh:mm:ss`` in UTC, the text form ``DateTime('UTC')`` reads and writes."""
    return require_aware(value, "time").strftime("%Y-%m-%d %H:%M:%S")


ANALYTICS_TABLES = ("events", "signatures", "checkpoint")
"""Every table of the projection, in the order :func:`schema_statements` creates them."""


def schema_statements(database: Identifier) -> list[str]:
    """The DDL that creates the analytics database and its tables, if missing."""
    db = {"db": database}
    return [
        bind("CREATE DATABASE IF NOT EXISTS {db}", db),
        bind(
            """
            CREATE TABLE IF NOT EXISTS {db}.events (
                position UInt64,
                stream_id String,
                stream_version UInt64,
                event_type String,
                schema_version UInt32,
                recorded_at DateTime('UTC'),
                recorded_at_us Int64,
                wallet_id String,
                ceremony_id String,
                party String,
                parties Array(String),
                reason String,
                payload String,
                metadata String,
                hash String
            )
            ENGINE = ReplacingMergeTree()
            PARTITION BY toYYYYMM(recorded_at)
            ORDER BY (event_type, recorded_at, position)
            """,
            db,
        ),
        bind(
            """
            CREATE TABLE IF NOT EXISTS {db}.signatures (
                position UInt64,
                ceremony_id String,
                wallet_id String,
                scheme String,
                signers Array(String),
                recorded_at DateTime('UTC'),
                recorded_at_us Int64,
                day Date
            )
            ENGINE = ReplacingMergeTree()
            PARTITION BY toYYYYMM(recorded_at)
            ORDER BY (wallet_id, recorded_at, position)
            """,
            db,
        ),
        # The key is projection_name, not projection: PROJECTION is a keyword of CREATE
        # TABLE since ClickHouse 21.6. The version column is the position: of several
        # checkpoint rows for one projection (one per batch until a merge), the highest
        # position wins, so a checkpoint never moves backwards even if two projectors race.
        bind(
            """
            CREATE TABLE IF NOT EXISTS {db}.checkpoint (
                projection_name String,
                position UInt64,
                hash String
            )
            ENGINE = ReplacingMergeTree(position)
            ORDER BY projection_name
            """,
            db,
        ),
    ]
