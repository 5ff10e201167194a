"""Logic shared by the adapters: planning an append, decoding stored rows, archiving a month.

An adapter opens a transaction, takes its database's write lock, fetches the head, the
current version of each stream in the batch (and of each stream with an expected version)
and any events already stored under the batch's idempotency keys, then calls
:func:`plan_append_from_rows`. The plan is pure, so both adapters check expected versions
and assign positions, stream versions, times and hashes by exactly the same rules.
Retention exports a month with :func:`archive_month`, under the same checks in both.

Both adapters keep two tables: ``events`` (the full rows; in PostgreSQL partitioned by
month) and ``event_index`` (position, stream id and version, idempotency key, hash, time),
written in the same transaction. The index is never archived: it is what keeps positions,
stream versions, idempotency keys and hashes unique for ever and lets the chain continue
after the months holding its tail were moved to files.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.events.archive import ArchiveManifest, ArchiveWriter
from storage.events.errors import (
    ArchiveError,
    EventStoreError,
    IdempotencyConflict,
    StreamVersionConflict,
)
from storage.events.port import (
    GENESIS_HASH,
    Clock,
    IndexEntry,
    NewEvent,
    StoredEvent,
    canonical_json,
    event_hash,
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

INDEX_COLUMNS = (
    "position",
    "stream_id",
    "stream_version",
    "idempotency_key",
    "hash",
    "recorded_at",
)
"""Column order of the event index in both adapters."""


@dataclass(frozen=True, slots=True)
class Head:
    """The last appended event's position, hash and time: all an append needs of it."""

    position: int
    hash: str
    recorded_at: datetime


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


def streams_to_read(events: Sequence[NewEvent], expected_versions: Mapping[str, int]) -> list[str]:
    """The streams whose current version an append needs, sorted (for stable SQL plans)."""
    return sorted({event.stream_id for event in events} | set(expected_versions))


def check_expected(
    events: Sequence[NewEvent],
    *,
    expected_versions: Mapping[str, int],
    stream_versions: Mapping[str, int],
    existing: Mapping[str, StoredEvent],
) -> None:
    """Raise :class:`StreamVersionConflict` for the first stream not where the writer expects.

    A batch whose events for a stream are *all* stored already is a retry: it passes if
    those events were stored right after the expected version (the first attempt won), so
    a retried command gets its stored answer instead of a conflict with itself.
    """
    for stream_id in sorted(expected_versions):
        expected = expected_versions[stream_id]
        actual = stream_versions.get(stream_id, 0)
        batch = [event for event in events if event.stream_id == stream_id]
        stored = [existing[e.idempotency_key] for e in batch if e.idempotency_key in existing]
        if batch and len(stored) == len(batch):
            if min(event.stream_version for event in stored) - 1 == expected:
                continue
        elif actual == expected:
            continue
        raise StreamVersionConflict(stream_id, expected, actual)


def plan_append(
    events: Sequence[NewEvent],
    *,
    head: Head | None,
    stream_versions: Mapping[str, int],
    existing: Mapping[str, StoredEvent],
    recorded_at: datetime,
    expected_versions: Mapping[str, int] | None = None,
    archived: Mapping[str, int] | None = None,
) -> AppendPlan:
    """Assign positions, stream versions and hashes to ``events`` after ``head``.

    ``stream_versions`` holds the current version of every stream in the batch (and in
    ``expected_versions``) that has events; ``existing`` holds every stored event whose key
    appears in the batch, and ``archived`` the position of every such key whose event has
    been archived. Raises :class:`StreamVersionConflict` or :class:`IdempotencyConflict`
    before anything is written, which is what makes ``append_many`` all-or-nothing.

    ``recorded_at`` is held at the head's instant if the clock is behind it (another host's
    clock, an NTP step): times never decrease along positions, so each month is one run of
    positions and archiving months removes a prefix of the log.
    """
    format_recorded_at(recorded_at)  # Fails early on a naive clock.
    recorded_at = recorded_at.astimezone(UTC)
    if head is not None and recorded_at < head.recorded_at:
        recorded_at = head.recorded_at.astimezone(UTC)
    for key, position in (archived or {}).items():
        if any(event.idempotency_key == key for event in events):
            raise IdempotencyConflict(
                key,
                position=position,
                reason="the event stored under this key has been archived; use a new key",
            )
    check_expected(
        events,
        expected_versions=expected_versions or {},
        stream_versions=stream_versions,
        existing=existing,
    )
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
        unhashed = StoredEvent(
            position=position,
            stream_id=event.stream_id,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            payload=event.canonical_payload(),
            metadata=dict(event.metadata),
            idempotency_key=event.idempotency_key,
            recorded_at=recorded_at,
            prev_hash=prev_hash,
            hash=GENESIS_HASH,  # A placeholder of the right shape, replaced right below.
        )
        stored = unhashed.model_copy(update={"hash": event_hash(unhashed)})
        versions[event.stream_id] = version
        by_key[event.idempotency_key] = stored
        batch_keys.add(event.idempotency_key)
        prev_hash = stored.hash
        results.append(stored)
        new_events.append(stored)
    return AppendPlan(results=results, new_events=new_events)


def plan_append_from_rows(
    events: Sequence[NewEvent],
    *,
    expected_versions: Mapping[str, int],
    key_rows: Iterable[Mapping[str, Any]],
    version_rows: Iterable[Mapping[str, Any]],
    head_row: Mapping[str, Any] | None,
    recorded_at: datetime,
) -> AppendPlan:
    """:func:`plan_append` from the rows of the adapter's three reads.

    ``key_rows``: the index rows of the batch's idempotency keys (``indexed_key``,
    ``indexed_position``) joined to their events' :data:`COLUMNS` (NULL once archived);
    ``version_rows``: ``stream_id`` and its highest ``version`` (NULL for a new stream);
    ``head_row``: the last indexed ``position``, ``hash`` and ``recorded_at``, if any.
    """
    existing: dict[str, StoredEvent] = {}
    archived: dict[str, int] = {}
    for row in key_rows:
        if row["position"] is None:
            archived[str(row["indexed_key"])] = int(row["indexed_position"])
        else:
            stored = decode_event(row)
            existing[stored.idempotency_key] = stored
    stream_versions = {
        str(row["stream_id"]): int(row["version"])
        for row in version_rows
        if row["version"] is not None
    }
    head = (
        None
        if head_row is None
        else Head(int(head_row["position"]), str(head_row["hash"]), _instant(head_row))
    )
    return plan_append(
        events,
        head=head,
        stream_versions=stream_versions,
        existing=existing,
        archived=archived,
        expected_versions=expected_versions,
        recorded_at=recorded_at,
    )


def encode_json(value: Mapping[str, Any]) -> str:
    """Payload and metadata are stored as canonical JSON text, not as a JSON column type.

    PostgreSQL's ``jsonb`` would renormalize numbers (``1e2`` comes back as ``100``) and
    SQLite has no JSON type at all; storing the exact text that was hashed keeps reads
    byte-for-byte faithful to the chain in both databases.
    """
    return canonical_json(dict(value))


def decode_event(row: Mapping[str, Any]) -> StoredEvent:
    """A :class:`StoredEvent` from a database row with the :data:`COLUMNS` keys."""
    return StoredEvent(
        position=row["position"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        payload=json.loads(row["payload"]),
        metadata=json.loads(row["metadata"]),
        idempotency_key=row["idempotency_key"],
        recorded_at=_instant(row),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def decode_index_entry(row: Mapping[str, Any]) -> IndexEntry:
    """An :class:`IndexEntry` from an ``event_index`` row with the :data:`INDEX_COLUMNS` keys."""
    return IndexEntry(
        position=row["position"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        idempotency_key=row["idempotency_key"],
        hash=row["hash"],
        recorded_at=_instant(row),
    )


def check_readable_version(current: int, latest: int, where: str) -> None:
    """A store opened read-only cannot be migrated: it must be at this code's version."""
    check_not_newer(current, latest)
    if current < latest:
        raise EventStoreError(
            f"event store {where} is at schema version {current}, older than this code's "
            f"{latest}; a read-only open cannot migrate it (open it once read-write, or "
            "verify with the Quorate version that wrote it)"
        )


def _instant(row: Mapping[str, Any]) -> Any:
    """A row's ``recorded_at``: a ``datetime`` (PostgreSQL ``timestamptz``) or ISO text (SQLite)."""
    recorded_at = row["recorded_at"]
    return datetime.fromisoformat(recorded_at) if isinstance(recorded_at, str) else recorded_at


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``; ``None`` if none.

    Both databases compare ``stream_id`` by code point (SQLite's BINARY collation, and the
    ``COLLATE "C"`` column in PostgreSQL, both compare UTF-8 bytes, which orders as code
    points do), so ``prefix <= stream_id < bound`` is an index range scan for "starts with".
    """
    chars = list(prefix)
    while chars:
        code = ord(chars[-1])
        if code < 0x10FFFF:
            code += 1
            if 0xD800 <= code <= 0xDFFF:  # Surrogates cannot be stored; skip over them.
                code = 0xE000
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def check_not_newer(current: int, latest: int) -> None:
    """Refuse a store whose schema version ``current`` is newer than this code's ``latest``."""
    if current > latest:
        raise EventStoreError(
            f"event store schema version {current} is newer than this code "
            f"({latest}); upgrade Quorate"
        )


async def indexed_hash(position: int, lookup: Callable[[int], Awaitable[object]]) -> str:
    """The hash of the event at ``position`` per the index (``lookup``); genesis for 0."""
    if position == 0:
        return GENESIS_HASH
    value = await lookup(position)
    if value is None:
        raise ArchiveError(f"position {position} is missing from the event index")
    return str(value)


async def archive_month(
    export_dir: Path,
    month: datetime,
    *,
    first_position: int,
    last_archived: int,
    rows: AsyncIterable[Mapping[str, Any]],
    index_lookup: Callable[[int], Awaitable[object]],
    clock: Clock,
    source: str,
) -> tuple[ArchiveManifest, Path]:
    """Export one month's ``rows`` (:data:`COLUMNS`, in position order) to its archive.

    Archives must be a prefix of the log, so the month must start right after the last
    archived position: anything else would leave a hole in the middle of the live chain
    (only possible for data written before recorded_at was kept monotonic). Each event is
    checked against the chain as it is written, and the last one against the index
    (``index_lookup``: a position's indexed hash). Nothing is removed here: the adapter
    records the manifest and removes the month in the same transaction afterwards. An
    unfinished file is discarded on any error.
    """
    if first_position != last_archived + 1:
        raise ArchiveError(
            f"cannot archive {month:%Y-%m}: it starts at position {first_position}, but "
            f"the log's oldest unarchived position is {last_archived + 1}"
        )
    prev_hash = await indexed_hash(first_position - 1, index_lookup)
    writer = ArchiveWriter(
        export_dir, month, first_position=first_position, prev_hash=prev_hash, source=source
    )
    try:
        async for row in rows:
            writer.add(decode_event(row))
        if await indexed_hash(writer.last_position, index_lookup) != writer.last_hash:
            raise ArchiveError(
                f"event {writer.last_position} does not match the event index; "
                "run `quorate audit verify`"
            )
        manifest = await asyncio.to_thread(writer.finish, clock())
    except BaseException:
        writer.abort()
        raise
    return manifest, writer.path


def archive_values(manifest: ArchiveManifest, archived_at: object) -> tuple[object, ...]:
    """The ``event_archives`` row of ``manifest``, in insert order; ``archived_at`` as the
    database stores it."""
    return (
        manifest.first_position,
        manifest.last_position,
        manifest.count,
        manifest.month,
        manifest.first_prev_hash,
        manifest.last_hash,
        manifest.file,
        manifest.sha256,
        archived_at,
    )
