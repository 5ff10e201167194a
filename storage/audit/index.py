"""The event index checked against the events (storage.events: ``event_index``).

Both adapters keep, beside the full rows, one index entry per event ever appended: position,
stream id and version, idempotency key, hash and time (:class:`~storage.events.port.
IndexEntry`). Appends read the chain's head and each stream's version from it, and it
outlives retention. So an index that disagrees with the events is either tampering or a
store that will fork its chain on the next append; either way the auditor must hear of it:

* every event the walk accepts (from the live store, or from a retention archive of it)
  must have its entry, with every field equal;
* the index must not go further than the events: entries past the last event are events
  deleted from the end, which the chain alone cannot show.

Entries are fetched for exactly the positions of each batch the walk reads
(:meth:`IndexCheck.prefetch`), so memory is bounded by two batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storage.audit.findings import CheckSummary, Flaw, Problem, VerifyMode
from storage.events.port import EventStore, IndexEntry, StoredEvent

_FIELDS = ("stream_id", "stream_version", "idempotency_key", "hash", "recorded_at")


@dataclass(slots=True)
class IndexCheck:
    """The :class:`~storage.audit.findings.EventCheck` of the event index of ``store``."""

    store: EventStore
    checked: int = 0
    last_position: int = 0
    _entries: dict[int, IndexEntry] = field(default_factory=dict)
    _index_head: int | None = None

    async def prefetch(self, events: Sequence[StoredEvent]) -> None:
        """Fetch the entries of ``events``' positions, before the walk looks at them."""
        if not events:
            return
        entries = await self.store.read_index([event.position for event in events])
        self._entries.update((entry.position, entry) for entry in entries)

    async def prefetch_head(self) -> None:
        """Read where the index ends, for :meth:`finish` (before the walk finishes)."""
        self._index_head = await self.store.head_position()

    def observe(self, event: StoredEvent, mode: VerifyMode) -> Flaw | None:
        entry = self._entries.pop(event.position, None)
        self.last_position = event.position
        if entry is None:
            return Flaw(
                Problem.INDEX_MISMATCH,
                "the event index has no entry for this event (a row removed from the index, "
                "or an event inserted behind the store's back)",
            )
        for name in _FIELDS:
            indexed, actual = getattr(entry, name), getattr(event, name)
            if indexed != actual:
                return Flaw(
                    Problem.INDEX_MISMATCH,
                    f"the event index says {name} {_shown(indexed)}, the event "
                    f"{_shown(actual)} (the event or its index entry was changed)",
                )
        self.checked += 1
        return None

    def finish(self, mode: VerifyMode) -> Flaw | None:
        head = self._index_head
        if head is not None and head > self.last_position:
            return Flaw(
                Problem.MISSING,
                f"the event index records events up to position {head}, but the log ends "
                f"at position {self.last_position}: events deleted from the end",
                position=self.last_position + 1,
            )
        return None

    def summary(self) -> CheckSummary:
        return CheckSummary(
            name="index",
            text=f"event index: {self.checked} entries agree with the events",
            data={"checked": self.checked},
        )


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)
