"""Logic shared by the adapters: planning an append and decoding stored rows.

An adapter opens a transaction, takes its database's write lock, fetches the head, the
current version of each stream in the batch and any events already stored under the batch's
idempotency keys, then calls :func:`plan_append`. The plan is pure, so both adapters assign
positions, stream versions and hashes by exactly the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from storage.events.errors import IdempotencyConflict
from storage.events.port import (
    GENESIS_HASH,
    NewEvent,
    StoredEvent,
    canonical_json,
    compute_event_hash,
    format_recorded_at,
)

COLUMNS = (
    "position",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "payload",
    "metadata",
    "idempotency_key",
    "recorded_at",
    "prev_hash",
    "hash",
)
"""Column order of the events table in both adapters (inserts and selects)."""


@dataclass(frozen=True, slots=True)
class Head:
    """The last stored event's position and hash: all an append needs of it."""

    position: int
    hash: str


@dataclass(frozen=True, slots=True)
class AppendPlan:
    """The outcome of an append: one result per input, and the new rows to insert."""

    results: list[StoredEvent]
    new_events: list[StoredEvent]


def _conflict_reason(new: NewEvent, stored: StoredEvent) -> str | None:
    """Why ``new`` is not the event stored under its key, or ``None`` if it is."""
    if new.stream_id != stored.stream_id:
        return f"stream {stored.stream_id!r} stored, {new.stream_id!r} given"
    if new.event_type != stored.event_type:
        return f"event type {stored.event_type!r} stored, {new.event_type!r} given"
    if new.schema_version != stored.schema_version:
        return f"schema version {stored.schema_version} stored, {new.schema_version} given"
    # Compare canonical encodings, which is what the hash covers: 1 and 1.0 differ.
    if canonical_json(new.payload) != canonical_json(stored.payload):
        return "payload differs"
    if canonical_json(new.metadata) != canonical_json(stored.metadata):
        return "metadata differs"
    return None


def plan_append(
    events: Sequence[NewEvent],
    *,
    head: Head | None,
    stream_versions: Mapping[str, int],
    existing: Mapping[str, StoredEvent],
    recorded_at: datetime,
) -> AppendPlan:
    """Assign positions, stream versions and hashes to ``events`` after ``head``.

    ``stream_versions`` holds the current version of every stream in the batch that has
    events; ``existing`` holds every stored event whose key appears in the batch. Raises
    :class:`IdempotencyConflict` before anything is written if any key is reused for
    different content, which is what makes ``append_many`` all-or-nothing for that case.
    """
    recorded_at = recorded_at.astimezone(UTC)
    format_recorded_at(recorded_at)  # Fails early on a naive clock.
    position = head.position if head is not None else 0
    prev_hash = head.hash if head is not None else GENESIS_HASH
    versions = dict(stream_versions)
    by_key = dict(existing)
    results: list[StoredEvent] = []
    new_events: list[StoredEvent] = []
    batch_keys: set[str] = set()
    for event in events:
        known = by_key.get(event.idempotency_key)
        if known is not None:
            reason = _conflict_reason(event, known)
            if reason is not None:
                raise IdempotencyConflict(
                    event.idempotency_key,
                    # A key repeated inside the batch has no stored position yet.
                    position=None if event.idempotency_key in batch_keys else known.position,
                    reason=reason,
                )
            results.append(known)
            continue
        position += 1
        version = versions.get(event.stream_id, 0) + 1
        payload = event.canonical_payload()
        digest = compute_event_hash(
            prev_hash,
            position=position,
            stream_id=event.stream_id,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            payload=payload,
            metadata=event.metadata,
            idempotency_key=event.idempotency_key,
            recorded_at=recorded_at,
        )
        stored = StoredEvent(
            position=position,
            stream_id=event.stream_id,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            payload=payload,
            metadata=dict(event.metadata),
            idempotency_key=event.idempotency_key,
            recorded_at=recorded_at,
            prev_hash=prev_hash,
            hash=digest,
        )
        versions[event.stream_id] = version
        by_key[event.idempotency_key] = stored
        batch_keys.add(event.idempotency_key)
        prev_hash = digest
        results.append(stored)
        new_events.append(stored)
    return AppendPlan(results=results, new_events=new_events)


def encode_json(value: Mapping[str, Any]) -> str:
    """Payload and metadata are stored as canonical JSON text, not as a JSON column type.

    PostgreSQL's ``jsonb`` would renormalize numbers (``1e2`` comes back as ``100``) and
    SQLite has no JSON type at all; storing the exact text that was hashed keeps reads
    byte-for-byte faithful to the chain in both databases.
    """
    return canonical_json(dict(value))


def decode_event(row: Mapping[str, Any]) -> StoredEvent:
    """A :class:`StoredEvent` from a database row with the :data:`COLUMNS` keys.

    ``recorded_at`` may be a ``datetime`` (PostgreSQL ``timestamptz``) or ISO text (SQLite).
    """
    recorded_at = row["recorded_at"]
    if isinstance(recorded_at, str):
        recorded_at = datetime.fromisoformat(recorded_at)
    return StoredEvent(
        position=row["position"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        payload=json.loads(row["payload"]),
        metadata=json.loads(row["metadata"]),
        idempotency_key=row["idempotency_key"],
        recorded_at=recorded_at,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def display_url(url: str) -> str:
    """``url`` without its password; of the query only ``schema`` is kept (others may be secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k == "schema"])
    # Built by hand: urlunsplit drops the "//" of an empty host ("postgresql:///db").
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
