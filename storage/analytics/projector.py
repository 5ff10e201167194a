"""The forensics projection: follows the event store into ClickHouse, batch by batch.

Each batch is read after the checkpoint, its hash chain verified against the last event
already applied, turned into rows, inserted, and only then checkpointed. Why that order
gives readers exactly-once effects without a transaction is explained in
:mod:`storage.analytics.port`.

The projection keeps its checkpoint in ClickHouse, next to its rows, rather than in the
event store's database: the two cannot share a transaction anyway, and this way a rebuild
of the analytics database (or a fresh server) starts from event zero on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from storage.analytics.port import ANALYTICS_PROJECTION, AnalyticsSink, Checkpoint
from storage.analytics.rows import project_batch
from storage.events.errors import ChainBroken
from storage.events.port import EventStore, StoredEvent, event_hash, verify_chain

DEFAULT_BATCH_SIZE = 500


class CatchUpResult(BaseModel):
    """What one :meth:`AnalyticsProjector.catch_up` (or rebuild) did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    applied: int = Field(ge=0)
    """Events applied by this call."""
    batches: int = Field(ge=0)
    position: int = Field(ge=0)
    """The checkpoint afterwards: every event up to here is visible to queries."""


class AnalyticsProjector:
    """Projects an :class:`~storage.events.port.EventStore` into an :class:`AnalyticsSink`."""

    def __init__(
        self, store: EventStore, sink: AnalyticsSink, *, name: str = ANALYTICS_PROJECTION
    ) -> None:
        self.store = store
        self.sink = sink
        self.name = name

    async def _trusted_previous(self) -> StoredEvent | None:
        """The last applied event, re-read from the store and checked against the checkpoint.

        The event must still match its own hash, and that hash must be the one the
        checkpoint kept; otherwise the log was rewritten after we projected it (with or
        without recomputing the hash), and nothing built on it can be trusted.
        """
        checkpoint = await self.sink.read_checkpoint(self.name)
        if checkpoint is None:
            return None
        found = await self.store.read_all(after_position=checkpoint.position - 1, limit=1)
        if not found or found[0].position != checkpoint.position:
            raise ChainBroken(
                position=checkpoint.position,
                reason=f"projection {self.name!r} applied this event but the store lacks it",
            )
        if event_hash(found[0]) != found[0].hash:
            raise ChainBroken(position=checkpoint.position, reason="hash does not match content")
        if found[0].hash != checkpoint.hash:
            raise ChainBroken(
                position=checkpoint.position,
                reason=(
                    f"projection {self.name!r} applied this event with hash "
                    f"{checkpoint.hash}, the store now holds {found[0].hash}"
                ),
            )
        return found[0]

    async def apply(self, events: Sequence[StoredEvent], *, previous: StoredEvent | None) -> None:
        """Verify, insert and checkpoint one batch that directly follows ``previous``.

        ``previous`` is the last event already applied (``None`` if none was), so the batch
        must start at ``previous.position + 1`` (or 1) with an unbroken hash chain; otherwise
        :class:`~storage.events.errors.ChainBroken` is raised and nothing is written.
        A projection runner that reads the store itself can drive the projection through
        this method.
        """
        if not events:
            return
        verify_chain(events, previous=previous)
        batch = project_batch(list(events))
        await self.sink.insert_batch(batch)
        # Written only after both inserts returned: it is what makes the batch visible
        # (storage.analytics.port explains why this is exactly-once for readers).
        last = events[-1]
        await self.sink.write_checkpoint(
            Checkpoint(projection=self.name, position=last.position, hash=last.hash)
        )

    async def catch_up(self, batch_size: int = DEFAULT_BATCH_SIZE) -> CatchUpResult:
        """Apply every event after the checkpoint, ``batch_size`` at a time.

        Safe to re-run at any time, including after a crash anywhere inside a batch: the
        batch is read again from the checkpoint and re-inserted, which changes nothing that
        readers can see (the rows are keyed by position).
        """
        if isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        previous = await self._trusted_previous()
        applied = batches = 0
        while True:
            after = previous.position if previous is not None else 0
            events = await self.store.read_all(after_position=after, limit=batch_size)
            if not events:
                break
            await self.apply(events, previous=previous)
            previous = events[-1]
            applied += len(events)
            batches += 1
        return CatchUpResult(
            applied=applied,
            batches=batches,
            position=previous.position if previous is not None else 0,
        )

    async def rebuild(self, batch_size: int = DEFAULT_BATCH_SIZE) -> CatchUpResult:
        """Empty the analytics tables and replay the whole log from event zero.

        The chain is then verified from the genesis hash, stream versions included for the
        first batch, so a rebuild is also a full audit of the log it reads.
        """
        if isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        await self.sink.truncate()
        return await self.catch_up(batch_size)
