"""Typed errors of the event store (ARCHITECTURE.md invariants 6 and 8).

Every failure the store can report is an :class:`EventStoreError`, so callers can catch the
store's refusals without catching unrelated bugs. Messages never contain secrets: URLs are
shown through :func:`common.urls.redact_url`.
"""

from __future__ import annotations

from storage.errors import InvalidSqlIdentifier, UnsupportedUrl


class EventStoreError(Exception):
    """Base class of every error raised by the event store."""


class IdempotencyConflict(EventStoreError):
    """An event was appended under an idempotency key already used for different content.

    The store refuses rather than silently returning the old event, because a caller who
    reuses a key for a different event has a bug that would otherwise lose that event.
    """

    def __init__(self, idempotency_key: str, *, position: int | None, reason: str) -> None:
        self.idempotency_key = idempotency_key
        self.position = position
        self.reason = reason
        where = f" (stored at position {position})" if position is not None else ""
        super().__init__(
            f"idempotency key {idempotency_key!r} already used for different content{where}: "
            f"{reason}"
        )


class ChainBroken(EventStoreError):
    """The hash chain does not verify; ``position`` names the first bad event."""

    def __init__(self, *, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"event chain broken at position {position}: {reason}")


class UnsupportedEventStoreUrl(EventStoreError, UnsupportedUrl):
    """The URL names no event-store adapter, or is malformed for the one it names."""

    what = "event store"


class InvalidSchemaName(EventStoreError, InvalidSqlIdentifier):
    """A PostgreSQL schema name failed the strict identifier check."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        super().__init__("schema", schema)


class AppendOnlyViolation(EventStoreError):
    """The database refused to change or remove a stored event (it is append-only)."""


class EventStoreClosed(EventStoreError):
    """The store was used after :meth:`EventStore.close`."""


class UnknownEventType(EventStoreError):
    """A stored event's type names no domain event known to this version of Quorate."""

    def __init__(self, event_type: str, *, position: int) -> None:
        self.event_type = event_type
        self.position = position
        super().__init__(f"unknown event type {event_type!r} at position {position}")


class EventDecodeError(EventStoreError):
    """A stored event's payload does not match its domain event's schema."""

    def __init__(self, *, position: int, event_type: str, reason: str) -> None:
        self.position = position
        self.event_type = event_type
        self.reason = reason
        super().__init__(f"cannot decode {event_type} at position {position}: {reason}")


class StreamVersionConflict(EventStoreError):
    """Optimistic concurrency: a stream was not at the version the writer expected.

    ``expected`` is the version the writer saw (0: the stream must not exist yet) and
    ``actual`` the version the store holds. Nothing of the append was written; the writer
    should re-read the stream, decide again and retry with the new version.
    """

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, the append expected {expected}"
        )


class ArchiveError(EventStoreError):
    """Retention could not archive a month: the export or the store is not as it must be.

    Nothing is removed from the store when this is raised for a month; an export file
    already written for it is a faithful copy and may be left behind.
    """


class RetentionNotPermitted(EventStoreError):
    """The connected role may not remove archived events (it is not the events' owner).

    In production the application role can only read and insert; retention runs as the
    owner, a separate and rarely used credential.
    """


class NotAnEventStore(EventStoreError):
    """A read-only open found no Quorate event store there: a missing, empty or foreign file
    (a share vault, a random file), or a database schema without the event-store tables.

    Nothing was created or changed to find out.
    """


class EventStoreReadOnly(EventStoreError):
    """A write (append, retention) on a store opened read-only
    (:func:`~storage.events.port.open_event_store_read_only`)."""
