"""Valid hash chains built without any store, from ``compute_event_hash`` alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.events.port import GENESIS_HASH, StoredEvent, compute_event_hash


def hashed_chain(
    count: int, *, stream_of: Callable[[int], str], fields_of: Callable[[int], dict[str, Any]]
) -> list[StoredEvent]:
    """Positions 1..``count`` in the streams ``stream_of(position)`` names (versions counted
    per stream), each event's other fields ``fields_of(position)``, linked and hashed."""
    events: list[StoredEvent] = []
    versions: dict[str, int] = {}
    prev_hash = GENESIS_HASH
    for position in range(1, count + 1):
        stream = stream_of(position)
        versions[stream] = versions.get(stream, 0) + 1
        fields: dict[str, Any] = {
            **fields_of(position),
            "position": position,
            "stream_id": stream,
            "stream_version": versions[stream],
        }
        digest = compute_event_hash(prev_hash, **fields)
        events.append(StoredEvent(**fields, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return events
