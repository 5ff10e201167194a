"""A version-1 store's contents, built without the store: for the migration tests.

Version 1 had one plain ``events`` table in both adapters. The tests create that layout
with the adapters' own migration 1 (``migrate(..., target_version=1)``), fill it with the
rows below through plain SQL, as the version-1 code wrote them, then open the store with
the current code and check that every event and the chain came through.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage.events._core import encode_json
from storage.events.port import NewEvent, StoredEvent
from tests.storage.events.chains import hashed_chain

LEGACY_START = datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
"""Legacy events straddle a month (and year) boundary, so they land in two partitions."""


def legacy_events(count: int = 6, *, step: timedelta = timedelta(minutes=30)) -> list[StoredEvent]:
    """A valid chain of ``count`` events over two streams, ``step`` apart."""
    return hashed_chain(
        count,
        stream_of=lambda position: f"wallet-legacy{position % 2}",
        fields_of=lambda position: {
            "event_type": "Tested",
            "schema_version": 1,
            "payload": {"n": position, "amount": 1.5},
            "metadata": {"actor": "legacy"},
            "idempotency_key": f"legacy-{position}",
            "recorded_at": LEGACY_START + step * position,
        },
    )


def row_of(event: StoredEvent, *, recorded_at: Any) -> tuple[Any, ...]:
    """``event`` as a version-1 row, with ``recorded_at`` in the database's own type."""
    return (
        event.position,
        event.stream_id,
        event.stream_version,
        event.event_type,
        event.schema_version,
        encode_json(event.payload),
        encode_json(event.metadata),
        event.idempotency_key,
        recorded_at,
        event.prev_hash,
        event.hash,
    )


def same_as(event: StoredEvent) -> NewEvent:
    """The append that stored ``event``: appending it again must return ``event``."""
    return NewEvent(
        stream_id=event.stream_id,
        event_type=event.event_type,
        schema_version=event.schema_version,
        payload=event.payload,
        metadata=event.metadata,
        idempotency_key=event.idempotency_key,
    )
