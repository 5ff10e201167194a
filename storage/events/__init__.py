"""Quorate's event store: an append-only, hash-chained event log (ARCHITECTURE.md invariant 6).

``port`` holds the :class:`EventStore` port, the envelope models and the chain functions;
``sqlite`` (embedded, the default) and ``postgres`` (asyncpg) are its adapters, opened by
URL with :func:`open_event_store`; ``metadata`` holds the metadata conventions, ``archive``
the retention export format, and ``models`` the domain events.
"""

from storage.events.archive import ArchiveManifest, read_archive, verify_archive
from storage.events.errors import (
    AppendOnlyViolation,
    ArchiveError,
    ChainBroken,
    EventStoreClosed,
    EventStoreError,
    IdempotencyConflict,
    RetentionNotPermitted,
    StreamVersionConflict,
    UnsupportedEventStoreUrl,
)
from storage.events.metadata import (
    ACTOR,
    CAUSATION_ID,
    CEREMONY,
    CORRELATION_ID,
    TENANT,
    EventMetadata,
)
from storage.events.port import (
    GENESIS_HASH,
    RETENTION,
    EventStore,
    NewEvent,
    StoredEvent,
    compute_event_hash,
    open_event_store,
    verify_chain,
)

__all__ = [
    "ACTOR",
    "CAUSATION_ID",
    "CEREMONY",
    "CORRELATION_ID",
    "GENESIS_HASH",
    "RETENTION",
    "TENANT",
    "AppendOnlyViolation",
    "ArchiveError",
    "ArchiveManifest",
    "ChainBroken",
    "EventMetadata",
    "EventStore",
    "EventStoreClosed",
    "EventStoreError",
    "IdempotencyConflict",
    "NewEvent",
    "RetentionNotPermitted",
    "StoredEvent",
    "StreamVersionConflict",
    "UnsupportedEventStoreUrl",
    "compute_event_hash",
    "open_event_store",
    "read_archive",
    "verify_archive",
    "verify_chain",
]
