"""Quorate's event store: an append-only, hash-chained event log (ARCHITECTURE.md invariant 6).

``port`` holds the :class:`EventStore` port, the envelope models and the chain functions;
``sqlite`` (embedded, the default) and ``postgres`` (asyncpg) are its adapters, opened by
URL with :func:`open_event_store`; ``models`` holds the domain events.
"""

from storage.events.errors import (
    AppendOnlyViolation,
    ChainBroken,
    EventStoreClosed,
    EventStoreError,
    IdempotencyConflict,
    UnsupportedEventStoreUrl,
)
from storage.events.port import (
    GENESIS_HASH,
    EventStore,
    NewEvent,
    StoredEvent,
    compute_event_hash,
    open_event_store,
    verify_chain,
)

__all__ = [
    "GENESIS_HASH",
    "AppendOnlyViolation",
    "ChainBroken",
    "EventStore",
    "EventStoreClosed",
    "EventStoreError",
    "IdempotencyConflict",
    "NewEvent",
    "StoredEvent",
    "UnsupportedEventStoreUrl",
    "compute_event_hash",
    "open_event_store",
    "verify_chain",
]
