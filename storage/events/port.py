"""The event store port: an append-only, hash-chained event log (ARCHITECTURE.md invariant 6).

Adapters (:mod:`storage.events.sqlite`, :mod:`storage.events.postgres`) implement
:class:`EventStore`; every adapter runs the one contract suite in
``tests/storage/events/contract.py``.

The chain. Every stored event carries ``prev_hash`` (the previous event's ``hash``, or
:data:`GENESIS_HASH` for position 1) and ``hash``, the SHA-256 of the canonical encoding of
all its other fields. The canonical encoding is the UTF-8 bytes of::

    json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
               allow_nan=False)

where ``document`` holds the keys ``event_type``, ``idempotency_key``, ``metadata``,
``payload``, ``position``, ``prev_hash``, ``recorded_at``, ``schema_version``, ``stream_id``
and ``stream_version``, and ``recorded_at`` is ISO-8601 in UTC with microseconds
(``2024-05-01T12:00:00.000000+00:00``). That is all anyone needs to verify an exported log
offline with :func:`verify_chain` or an independent implementation.

Beyond the chain, the port promises:

* optimistic concurrency: ``append(event, expected_version=n)`` stores the event only if its
  stream is at version ``n`` (0: the stream is new), else raises
  :class:`~storage.events.errors.StreamVersionConflict`; of two writers that read the same
  version, exactly one wins;
* ``recorded_at`` never decreases along positions (a clock that steps back is held at the
  previous event's instant), so a month of events is a contiguous run of positions and
  retention removes a prefix of the log;
* retention: :meth:`EventStore.archive_partitions` exports whole months older than a cutoff
  to JSON-lines files (:mod:`storage.events.archive`) and only then removes them; positions,
  stream versions and idempotency keys of archived events stay reserved forever;
* :meth:`EventStore.wait_for_events` wakes a follower (the projection runner) when the log
  grows;
* the event index: besides the events, every adapter keeps one :class:`IndexEntry` per event
  ever appended (archived or not), which is what keeps positions, stream versions and keys
  unique for ever; :meth:`EventStore.read_index` reads it, so an auditor can check that it
  agrees with the events;
* read-only opening: :func:`open_event_store_read_only` opens an existing store for reading
  only (an auditor's copy, a production replica): it never creates, migrates or writes
  anything, and refuses a target that is not a Quorate event store
  (:class:`NotAnEventStore`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from storage.closing import AsyncClosing
from storage.events.errors import (
    ChainBroken,
)
from storage.events.metadata import (
    EventMetadata,
    MetadataKey,
    MetadataValue,
    check_metadata_size,
)

GENESIS_HASH = "00" * 32
"""``prev_hash`` of the event at position 1."""

Clock = Callable[[], datetime]
"""Source of ``recorded_at``; a parameter so tests are deterministic (STYLE.md)."""

RETENTION = timedelta(days=7 * 365 + 2)
"""How long events stay in the live store: 7 years (SOC 2 / ISO 27001 signing records), with
two days for the leap days seven years can contain. Older months are archived to files."""

DEFAULT_PAGE_SIZE = 1000
"""Default ``limit`` of :meth:`EventStore.read_after`."""

POLL_INTERVAL_SECONDS = 0.02
"""How often :meth:`EventStore.wait_for_events` polls where the database cannot notify."""


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _no_control_characters(value: str) -> str:
    # Identifiers end up in indexes and log lines; a NUL cannot even be stored in a
    # PostgreSQL text column, so refuse control characters up front (invariant 8).
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_no_control_characters)
]
HexDigest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no spaces, UTF-8, no NaN/Infinity.

    Raises ``TypeError`` or ``ValueError`` for values JSON cannot represent exactly.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def format_recorded_at(recorded_at: datetime) -> str:
    """ISO-8601 in UTC with microseconds, as hashed and as stored by the SQLite adapter."""
    if recorded_at.tzinfo is None or recorded_at.utcoffset() is None:
        raise ValueError("recorded_at must be timezone-aware")
    return recorded_at.astimezone(UTC).isoformat(timespec="microseconds")


class NewEvent(BaseModel):
    """An event to append. Position, stream version, time and hashes are the store's job."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream_id: Name
    event_type: Name
    schema_version: int = Field(default=1, ge=1)
    payload: dict[str, Any]
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict)
    """Conventional keys and spelling rules: :mod:`storage.events.metadata`."""
    idempotency_key: Name

    @model_validator(mode="after")
    def _canonicalizable(self) -> Self:
        check_metadata_size(self.metadata)
        # Refuse at construction what the store could not hash or store faithfully
        # (sets, bytes, NaN, lone surrogates), so a bad event fails before any I/O.
        try:
            canonical_json(self.payload).encode("utf-8")
            canonical_json(self.metadata).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payload and metadata must be canonical JSON: {exc}") from exc
        return self

    def canonical_payload(self) -> dict[str, Any]:
        """The payload as the store will return it (tuples become lists, and so on)."""
        decoded: dict[str, Any] = json.loads(canonical_json(self.payload))
        return decoded


class StoredEvent(BaseModel):
    """An event as recorded: its place in the global log and in its stream, and its hashes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int = Field(ge=1)
    stream_id: str
    stream_version: int = Field(ge=1)
    event_type: str
    schema_version: int = Field(ge=1)
    payload: dict[str, Any]
    metadata: dict[str, str]
    idempotency_key: str
    recorded_at: Annotated[AwareDatetime, AfterValidator(lambda dt: dt.astimezone(UTC))]
    prev_hash: HexDigest
    hash: HexDigest

    def event_metadata(self) -> EventMetadata:
        """The metadata as :class:`EventMetadata`; raises ``ValidationError`` if unconventional."""
        return EventMetadata.from_dict(self.metadata)


class IndexEntry(BaseModel):
    """One row of the event index: what the store keeps of every event ever appended.

    It outlives retention (archived events keep their entry), so positions, stream
    versions, idempotency keys and hashes stay unique for ever, and appends read the chain's
    head and each stream's version from it. Each field must equal the event's own.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int = Field(ge=1)
    stream_id: str
    stream_version: int = Field(ge=1)
    idempotency_key: str
    hash: HexDigest
    recorded_at: Annotated[AwareDatetime, AfterValidator(lambda dt: dt.astimezone(UTC))]

    @classmethod
    def of(cls, event: StoredEvent) -> IndexEntry:
        """The entry ``event`` should have."""
        return cls(
            position=event.position,
            stream_id=event.stream_id,
            stream_version=event.stream_version,
            idempotency_key=event.idempotency_key,
            hash=event.hash,
            recorded_at=event.recorded_at,
        )


def compute_event_hash(
    prev_hash: str,
    *,
    position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload: Mapping[str, Any],
    metadata: Mapping[str, str],
    idempotency_key: str,
    recorded_at: datetime,
) -> str:
    """SHA-256 (hex) of the canonical encoding of ``prev_hash`` and every other event field.

    The encoding is specified in this module's docstring; changing it breaks every stored
    chain, so it is pinned by a known-answer test.
    """
    document = {
        "event_type": event_type,
        "idempotency_key": idempotency_key,
        "metadata": dict(metadata),
        "payload": dict(payload),
        "position": position,
        "prev_hash": prev_hash,
        "recorded_at": format_recorded_at(recorded_at),
        "schema_version": schema_version,
        "stream_id": stream_id,
        "stream_version": stream_version,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def event_hash(event: StoredEvent) -> str:
    """The hash ``event`` should carry, recomputed from its other fields."""
    return compute_event_hash(
        event.prev_hash,
        position=event.position,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_type=event.event_type,
        schema_version=event.schema_version,
        payload=event.payload,
        metadata=event.metadata,
        idempotency_key=event.idempotency_key,
        recorded_at=event.recorded_at,
    )


def verify_chain(events: Iterable[StoredEvent], *, previous: StoredEvent | None = None) -> None:
    """Check that ``events`` form an unbroken hash chain; raise :class:`ChainBroken` if not.

    Without ``previous`` the events must start at position 1 (a whole log); with it, they
    must continue from that trusted event (a tail read with ``read_all(after_position=...)``).
    The error names the first bad event: a position out of sequence (gap, duplicate or
    reorder), a ``prev_hash`` that is not the predecessor's hash, a ``hash`` that does not
    match the event's content, or (for a whole log) a stream version out of sequence.
    """
    expected_position = 1 if previous is None else previous.position + 1
    expected_prev = GENESIS_HASH if previous is None else previous.hash
    # Stream versions can only be checked from the start: a tail does not say where each
    # stream stood before it.
    stream_versions: dict[str, int] | None = {} if previous is None else None
    for event in events:
        if event.position != expected_position:
            raise ChainBroken(
                position=event.position,
                reason=f"expected position {expected_position}, found {event.position}",
            )
        if event.prev_hash != expected_prev:
            raise ChainBroken(
                position=event.position,
                reason="prev_hash is not the hash of the previous event",
            )
        if event_hash(event) != event.hash:
            raise ChainBroken(position=event.position, reason="hash does not match content")
        if stream_versions is not None:
            expected_version = stream_versions.get(event.stream_id, 0) + 1
            if event.stream_version != expected_version:
                raise ChainBroken(
                    position=event.position,
                    reason=(
                        f"stream {event.stream_id!r}: expected version {expected_version}, "
                        f"found {event.stream_version}"
                    ),
                )
            stream_versions[event.stream_id] = event.stream_version
        expected_position += 1
        expected_prev = event.hash


def check_read_window(after_position: int, limit: int | None) -> None:
    """Validate ``read_all`` arguments the same way in every adapter."""
    if after_position < 0:
        raise ValueError(f"after_position must be >= 0, got {after_position}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")


def check_time_range(start: datetime, end: datetime) -> None:
    """Validate ``read_range`` arguments the same way in every adapter."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if end < start:
        raise ValueError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")


def check_expected_versions(expected_versions: Mapping[str, int] | None) -> dict[str, int]:
    """A copy of ``expected_versions`` (empty for ``None``); raise ``ValueError`` if negative."""
    checked = dict(expected_versions or {})
    for stream_id, version in checked.items():
        # bool is an int; True as a version is a caller's bug, not version 1.
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValueError(
                f"expected version of stream {stream_id!r} must be an int >= 0, got {version!r}"
            )
    return checked


class EventStore(AsyncClosing):
    """An append-only, hash-chained log of events, ordered by a gapless global position.

    Appends are serialized by the database (no two events share a position, the chain never
    forks) and idempotent on ``idempotency_key``. Use as ``async with`` to close on exit.
    """

    url: str
    """Where the store lives, for logs and errors; never contains a password."""

    async def append(self, event: NewEvent, expected_version: int | None = None) -> StoredEvent:
        """Append one event, or return the stored one if its idempotency key is known.

        ``expected_version`` is the version of ``event.stream_id`` the writer decided on (0:
        the stream must not exist yet); if the stream has moved on, nothing is written and
        :class:`~storage.events.errors.StreamVersionConflict` is raised. Raises
        :class:`~storage.events.errors.IdempotencyConflict` if the key was used for
        different content (stream, type, schema version, payload or metadata).
        """
        expected = None if expected_version is None else {event.stream_id: expected_version}
        (stored,) = await self.append_many([event], expected)
        return stored

    @abstractmethod
    async def append_many(
        self,
        events: Sequence[NewEvent],
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[StoredEvent]:
        """Append ``events`` atomically, in order: all are stored, or none.

        Returns one stored event per input, in input order; an input whose idempotency key
        is already stored (or repeated earlier in ``events``) yields that event.

        ``expected_versions`` maps stream ids to the version each must be at before the
        batch (0: new stream); a stream need not be in the batch (a precondition on another
        stream). A retried batch whose events are all stored already is answered with them
        if they were stored right after the expected version. Otherwise a mismatch raises
        :class:`~storage.events.errors.StreamVersionConflict` and writes nothing. An empty
        ``events`` returns ``[]`` without checking anything.
        """

    @abstractmethod
    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """Events with position > ``after_position``, in position order, at most ``limit``."""

    async def read_after(self, position: int, limit: int = DEFAULT_PAGE_SIZE) -> list[StoredEvent]:
        """The next page of the log: at most ``limit`` events after ``position``, in order.

        What a follower (projection runner, auditor's tail) calls in a loop; served by the
        position index in every adapter.
        """
        return await self.read_all(after_position=position, limit=limit)

    @abstractmethod
    async def read_range(
        self, start: datetime, end: datetime, stream_prefix: str | None = None
    ) -> list[StoredEvent]:
        """Events recorded in ``[start, end)``, in position order, for auditors.

        With ``stream_prefix``, only streams whose id starts with it (``"wallet-w1"`` also
        matches ``"wallet-w10"``; pass the whole id to mean one stream). Served by indexes
        on ``recorded_at`` and ``stream_id`` (and, in PostgreSQL, by partition pruning).
        """

    @abstractmethod
    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        """Every event of one stream, in stream-version order."""

    @abstractmethod
    async def head(self) -> StoredEvent | None:
        """The stored event with the highest position, or ``None`` if none is stored."""

    @abstractmethod
    async def head_position(self) -> int:
        """The position of the last event ever appended (archived or not); 0 if none."""

    @abstractmethod
    async def count(self) -> int:
        """The number of stored events (archived events are not counted)."""

    @abstractmethod
    async def read_index(self, positions: Sequence[int]) -> list[IndexEntry]:
        """The event index's entries at ``positions`` (those that exist), in position order.

        One query however many positions (a verifier asks for one batch of events' worth);
        a position without an entry is simply absent from the result.
        """

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        """Wait until the log holds an event after ``after_position``, or ``timeout`` seconds.

        Returns ``True`` as soon as :meth:`head_position` is beyond ``after_position`` (at
        once if it already is), ``False`` on timeout. This default polls every
        :data:`POLL_INTERVAL_SECONDS`; the PostgreSQL adapter is woken by NOTIFY instead.
        """
        check_wait(after_position, timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self.head_position() > after_position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(POLL_INTERVAL_SECONDS, remaining))

    @abstractmethod
    async def archive_partitions(self, older_than: datetime, export_dir: Path) -> list[Path]:
        """Archive every calendar month (UTC) that ends at or before ``older_than``.

        Each month is exported to ``export_dir/events-YYYY-MM.jsonl`` (one
        :class:`StoredEvent` per line, as ``model_dump_json`` writes it) with a manifest
        beside it (:mod:`storage.events.archive`), flushed to disk, checked against the
        chain, and only then removed from the store. A month that contains ``older_than``
        or anything later is never touched. Returns the exported files, oldest first.

        Typically ``older_than = now - RETENTION``. Raises
        :class:`~storage.events.errors.RetentionNotPermitted` if the connection may not
        remove events (the application role), and
        :class:`~storage.events.errors.ArchiveError` or
        :class:`~storage.events.errors.ChainBroken` if a month cannot be archived faithfully.
        """


def check_wait(after_position: int, timeout: float) -> None:
    """Validate ``wait_for_events`` arguments the same way in every adapter."""
    if after_position < 0:
        raise ValueError(f"after_position must be >= 0, got {after_position}")
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, got {timeout}")


async def open_event_store(url: str, *, clock: Clock | None = None) -> EventStore:
    """Open the event store at ``url``, creating its tables if missing.

    ``sqlite:///relative/path.sqlite3``, ``sqlite:////absolute/path.sqlite3``,
    ``sqlite:///:memory:`` (one connection, for tests), or
    ``postgresql://user[:password]@host:port/db[?schema=name]`` (other query parameters go to
    asyncpg, e.g. ``sslmode``, or become server settings, e.g. ``role=quorate_app`` to act as
    the application role from a member login). Any other scheme raises
    :class:`~storage.events.errors.UnsupportedEventStoreUrl`.
    """
    # Imported here, not at the top, because the adapters import this module: the port
    # must not depend on its adapters at import time.
    from storage.events.factory import open_event_store_from_url

    return await open_event_store_from_url(url, clock=clock)


async def open_event_store_read_only(url: str) -> EventStore:
    """Open the existing event store at ``url`` for reading only, as an auditor must.

    Nothing is created, migrated or written, whatever the target holds: SQLite is opened
    through a ``file:...?mode=ro`` URI (never switched to WAL, no schema created) and
    PostgreSQL in one ``READ ONLY``, ``REPEATABLE READ`` transaction held for the store's
    life, so every read sees one snapshot (SQLite likewise holds one read transaction):
    it is for audits, not for following a live log. Appends and retention raise
    :class:`EventStoreReadOnly`. A target that is not a Quorate event store of this schema
    version (a missing, empty or foreign file, a schema without the store's tables) raises
    :class:`NotAnEventStore` before anything is read.
    """
    from storage.events.factory import open_event_store_read_only_from_url

    return await open_event_store_read_only_from_url(url)
