"""The projection runner: follows the event store and keeps every projection up to date.

Exactly once. For each batch the runner opens one write transaction on the projection
database, re-reads the checkpoints inside it (another runner may have moved them), reads
the next events from the store, verifies their hash chain, applies them to every projection
that is due, writes those projections' checkpoints, and commits. Rows and checkpoint commit
together or not at all, so a runner killed at any instant leaves each projection exactly at
its last committed checkpoint, and the next run resumes from there: no event is applied
twice, none is skipped. The event store may be another database entirely.

Chain checks. Each checkpoint stores the hash of the last applied event. A batch is read
together with that event; the runner checks that it still carries the recorded hash, then
:func:`storage.events.port.verify_chain` checks the batch against it (positions gapless,
each ``prev_hash`` the predecessor's ``hash``, each ``hash`` matching the content). Any
failure raises :class:`ProjectionChainBroken` and nothing of the batch is committed.
(Tampering with an event *already* applied is not the runner's to find: ``quorate audit
verify`` checks the whole chain offline.)

Batches are grouped by checkpoint: projections at the same position share one read and one
transaction (the usual steady state); a projection being rebuilt catches up in its own
batches without holding the others back.

Waking up. :meth:`ProjectionRunner.run_forever` sleeps between batches in the store's
``wait_for_events(after_position, timeout)`` when the store has it (PostgreSQL
LISTEN/NOTIFY; SQLite polling), and otherwise polls :meth:`EventStore.head` every
``poll_interval`` seconds.

Versions. On first use the runner sets up each projection: a projection without a
checkpoint gets its tables and checkpoint 0; one whose stored version differs from its
code's ``version`` is reset and replayed from event zero (a newer stored version is
refused with :class:`ProjectionVersionTooNew`), and checked again before every step.

Archival. A rebuild replays from position 1; once the event store has archived its oldest
months (issue 6, retention), the live log no longer starts there and the chain check stops
the rebuild with :class:`ProjectionChainBroken` ("expected position 1") rather than build a
projection that silently misses years of history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from storage.events.errors import ChainBroken
from storage.events.port import EventStore, StoredEvent, verify_chain
from storage.projections.checkpoints import (
    Checkpoint,
    get_checkpoints,
    read_checkpoints,
    write_checkpoint,
)
from storage.projections.errors import (
    CheckpointAhead,
    DuplicateProjection,
    ProjectionApplyFailed,
    ProjectionChainBroken,
    ProjectionVersionTooNew,
    UnknownProjection,
)
from storage.projections.port import Projection, ProjectionDb, ProjectionTx, check_identifier

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_POLL_INTERVAL_SECONDS = 0.5

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ProjectionLag(BaseModel):
    """How far one projection trails the event store.

    ``events_behind`` is the head position minus the checkpoint. ``seconds_behind`` is how
    stale the projection is: the runner's clock minus ``recorded_at`` of the oldest event not
    yet applied (0 when caught up). ``commit_delay_seconds`` is how long the last applied
    event waited between being recorded and being committed to the projection (the
    checkpoint's ``updated_at`` minus its ``last_recorded_at``): the end-to-end projection
    latency under load.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    checkpoint: int = Field(ge=0)
    head: int = Field(ge=0)
    events_behind: int = Field(ge=0)
    applied_recorded_at: datetime | None
    head_recorded_at: datetime | None
    seconds_behind: float = Field(ge=0)
    commit_delay_seconds: float | None


class ProjectionRunner:
    """Feeds ``projections`` from ``store`` into ``projection_db``, ``batch_size`` events at a
    time. Safe to run in several processes at once (batches are serialized by the database).
    """

    def __init__(
        self,
        store: EventStore,
        projection_db: ProjectionDb,
        projections: Sequence[Projection],
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0, got {poll_interval}")
        if not projections:
            raise ValueError("at least one projection is needed")
        by_name: dict[str, Projection] = {}
        for projection in projections:
            check_identifier("projection", projection.name)
            if projection.version < 1:
                raise ValueError(f"projection {projection.name!r}: version must be >= 1")
            if projection.name in by_name:
                raise DuplicateProjection(f"two projections are named {projection.name!r}")
            by_name[projection.name] = projection
        self.store = store
        self.projection_db = projection_db
        self.projections: tuple[Projection, ...] = tuple(projections)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._by_name = by_name
        self._clock: Clock = clock or _utc_now
        self._ready = False

    # -- public API ----------------------------------------------------------------------

    async def setup(self) -> None:
        """Create missing projections and rebuild those whose version changed (idempotent)."""
        async with self.projection_db.transaction() as tx:
            checkpoints = await read_checkpoints(tx)
            for projection in self.projections:
                stored = checkpoints.get(projection.name)
                if stored is not None and stored.version > projection.version:
                    raise ProjectionVersionTooNew(
                        projection=projection.name, stored=stored.version, code=projection.version
                    )
                if stored is not None and stored.version < projection.version:
                    logger.info(
                        "projection %s: version %d -> %d, rebuilding from event zero",
                        projection.name,
                        stored.version,
                        projection.version,
                    )
                    await projection.reset(tx)
                    stored = None
                await projection.setup(tx)
                if stored is None:
                    await self._write_zero(tx, projection)
        self._ready = True

    async def step(self) -> int:
        """Apply at most one batch per group of projections; return how many events were read.

        0 means every projection was already at the head (or another runner got there first).
        """
        applied, _ = await self._step(self.projections)
        return applied

    async def run_until(self, position: int | None = None, *, timeout: float | None = None) -> None:
        """Apply events until every projection's checkpoint is at least ``position``.

        ``None`` means the store's head as of this call. If ``position`` is past the head,
        waits for new events (up to ``timeout`` seconds, then :class:`TimeoutError`).
        """
        await self._run_until(self.projections, position, timeout)

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Follow the store until ``stop_event`` is set; then return after the current batch.

        Errors (a broken chain, a projection bug, a lost database) propagate: the runner
        stops with nothing half-applied, and its supervisor decides whether to restart it.
        """
        await self._ensure_ready()
        while not stop_event.is_set():
            applied, low = await self._step(self.projections)
            if applied:
                # Let other tasks (queries, the stop signal) run between batches.
                await asyncio.sleep(0)
                continue
            await self._wait_for_events(low, self.poll_interval, stop_event)

    async def rebuild(self, name: str) -> int:
        """Reset projection ``name`` and replay it from event zero to the current head.

        Returns the position it reached. The reset commits first and the replay follows in
        batches, so readers see the projection fill up again; other projections are not
        touched. Runners elsewhere keep working: they see the new checkpoint and help.
        """
        projection = self._by_name.get(name)
        if projection is None:
            raise UnknownProjection(name, sorted(self._by_name))
        await self._ensure_ready()
        async with self.projection_db.transaction() as tx:
            await projection.reset(tx)
            await projection.setup(tx)
            await self._write_zero(tx, projection)
        head = await self.store.head()
        target = head.position if head is not None else 0
        await self._run_until((projection,), target, None)
        return target

    async def checkpoints(self) -> dict[str, Checkpoint]:
        """This runner's projections' checkpoints, by name."""
        stored = await get_checkpoints(self.projection_db)
        return {name: stored[name] for name in self._by_name if name in stored}

    async def lag(self) -> list[ProjectionLag]:
        """How far each projection trails the store (see :class:`ProjectionLag`)."""
        head = await self.store.head()
        head_position = head.position if head is not None else 0
        stored = await get_checkpoints(self.projection_db)
        now = self._clock()
        oldest_pending: dict[int, StoredEvent | None] = {}
        result: list[ProjectionLag] = []
        for projection in self.projections:
            checkpoint = stored.get(projection.name)
            position = checkpoint.position if checkpoint is not None else 0
            behind = max(head_position - position, 0)
            seconds_behind = 0.0
            if behind:
                if position not in oldest_pending:
                    pending = await self.store.read_all(after_position=position, limit=1)
                    oldest_pending[position] = pending[0] if pending else None
                first = oldest_pending[position]
                if first is not None:
                    seconds_behind = max((now - first.recorded_at).total_seconds(), 0.0)
            delay = None
            if checkpoint is not None and checkpoint.last_recorded_at is not None:
                delay = (checkpoint.updated_at - checkpoint.last_recorded_at).total_seconds()
            result.append(
                ProjectionLag(
                    name=projection.name,
                    checkpoint=position,
                    head=head_position,
                    events_behind=behind,
                    applied_recorded_at=checkpoint.last_recorded_at if checkpoint else None,
                    head_recorded_at=head.recorded_at if head is not None else None,
                    seconds_behind=seconds_behind,
                    commit_delay_seconds=delay,
                )
            )
        return result

    # -- internals -----------------------------------------------------------------------

    async def _ensure_ready(self) -> None:
        if not self._ready:
            await self.setup()

    async def _write_zero(self, tx: ProjectionTx, projection: Projection) -> None:
        await write_checkpoint(
            tx,
            Checkpoint(
                name=projection.name,
                version=projection.version,
                position=0,
                last_hash=None,
                last_recorded_at=None,
                updated_at=self._clock(),
            ),
        )

    async def _run_until(
        self, projections: Sequence[Projection], position: int | None, timeout: float | None
    ) -> None:
        await self._ensure_ready()
        if position is None:
            head = await self.store.head()
            position = head.position if head is not None else 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            applied, low = await self._step(projections)
            if low >= position:
                return
            if applied:
                continue
            remaining = self.poll_interval
            if deadline is not None:
                remaining = min(remaining, deadline - time.monotonic())
                if remaining <= 0:
                    raise TimeoutError(
                        f"projections reached position {low}, not {position}, in {timeout} s"
                    )
            await self._wait_for_events(low, remaining, None)

    async def _step(self, projections: Sequence[Projection]) -> tuple[int, int]:
        """One batch per checkpoint group; returns (events read, lowest checkpoint after)."""
        await self._ensure_ready()
        head = await self.store.head()
        head_position = head.position if head is not None else 0
        stored = await get_checkpoints(self.projection_db)
        if any(
            (checkpoint := stored.get(projection.name)) is None
            or checkpoint.version != projection.version
            for projection in projections
        ):
            # Someone changed the projections under this runner (another runner with a
            # different version, a checkpoint removed by hand): set up again, which rebuilds
            # an older version and refuses a newer one, instead of silently idling.
            await self.setup()
            stored = await get_checkpoints(self.projection_db)
        groups: dict[int, list[Projection]] = {}
        for projection in projections:
            checkpoint = stored.get(projection.name)
            position = checkpoint.position if checkpoint is not None else 0
            if position > head_position:
                raise CheckpointAhead(
                    projection=projection.name, checkpoint=position, head=head_position
                )
            if position < head_position:
                groups.setdefault(position, []).append(projection)
        applied = 0
        low = head_position
        for start in sorted(groups):
            count, reached = await self._apply_batch(start, groups[start])
            applied += count
            low = min(low, reached)
        return applied, low

    async def _apply_batch(self, start: int, projections: list[Projection]) -> tuple[int, int]:
        """Apply the batch after ``start`` to ``projections`` in one transaction.

        Returns (events read, the lowest checkpoint of ``projections`` afterwards).
        """
        async with self.projection_db.transaction() as tx:
            # Re-read under the database's write lock: another runner may have applied this
            # batch since the checkpoints were read outside it.
            checkpoints = await read_checkpoints(tx)
            due = [
                projection
                for projection in projections
                if (checkpoint := checkpoints.get(projection.name)) is not None
                and checkpoint.position == start
                and checkpoint.version == projection.version
            ]
            if not due:
                moved = [checkpoints[p.name].position for p in projections if p.name in checkpoints]
                return 0, min(moved, default=start)
            names = [projection.name for projection in due]
            previous_hashes = {checkpoints[name].last_hash for name in names}
            if len(previous_hashes) != 1:
                raise ProjectionChainBroken(
                    position=start,
                    reason="projections at the same position recorded different event hashes",
                    projections=names,
                )
            events = await self._read_verified(start, previous_hashes.pop(), names)
            if not events:
                return 0, start
            last = events[-1]
            for projection in due:
                try:
                    await projection.apply_batch(tx, events)
                except ProjectionApplyFailed:
                    raise
                except Exception as exc:
                    # Decoding errors name their event; anything else (a failed write of
                    # the batch's rows) is charged to the batch's last event.
                    position = getattr(exc, "position", None)
                    failed = next((e for e in events if e.position == position), last)
                    raise ProjectionApplyFailed(
                        projection=projection.name,
                        position=failed.position,
                        event_type=failed.event_type,
                    ) from exc
                await write_checkpoint(
                    tx,
                    Checkpoint(
                        name=projection.name,
                        version=projection.version,
                        position=last.position,
                        last_hash=last.hash,
                        last_recorded_at=last.recorded_at,
                        updated_at=self._clock(),
                    ),
                )
        return len(events), last.position

    async def _read_verified(
        self, start: int, last_hash: str | None, names: list[str]
    ) -> list[StoredEvent]:
        """The next batch after position ``start``, chain-checked against the checkpoint."""
        try:
            if start == 0:
                events = await self.store.read_all(after_position=0, limit=self.batch_size)
                verify_chain(events)
                return events
            # Read the checkpoint's own event too: the batch is verified against it.
            rows = await self.store.read_all(after_position=start - 1, limit=self.batch_size + 1)
            if not rows or rows[0].position != start:
                raise ChainBroken(
                    position=start, reason="the last applied event is missing from the store"
                )
            previous, events = rows[0], rows[1:]
            if previous.hash != last_hash:
                raise ChainBroken(
                    position=start,
                    reason="the last applied event no longer carries the hash it had when applied",
                )
            verify_chain(events, previous=previous)
            return events
        except ChainBroken as exc:
            raise ProjectionChainBroken(
                position=exc.position, reason=exc.reason, projections=names
            ) from exc

    async def _wait_for_events(
        self, after_position: int, timeout: float, stop_event: asyncio.Event | None
    ) -> None:
        """Sleep until the store has events after ``after_position``, ``timeout`` passes, or
        ``stop_event`` is set; whichever is first."""
        waiter: Callable[..., Awaitable[Any]] | None = getattr(self.store, "wait_for_events", None)
        if waiter is None:
            await _race(asyncio.sleep(timeout), stop_event)
            return
        try:
            await _race(waiter(after_position=after_position, timeout=timeout), stop_event)
        except Exception:
            # A lost LISTEN connection must not kill the runner; the next step will report
            # a real outage. Poll instead this time.
            logger.warning("wait_for_events failed; polling instead", exc_info=True)
            await _race(asyncio.sleep(timeout), stop_event)


async def _race(awaitable: Awaitable[Any], stop_event: asyncio.Event | None) -> None:
    """Await ``awaitable``, or stop early (cancelling it) once ``stop_event`` is set."""
    if stop_event is None:
        await awaitable
        return
    work = asyncio.ensure_future(awaitable)
    stop = asyncio.ensure_future(stop_event.wait())
    try:
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, stop):
            task.cancel()
        # Reap both, so a cancelled waiter's cleanup runs before the runner moves on.
        await asyncio.gather(work, stop, return_exceptions=True)
    if work.done() and not work.cancelled():
        error = work.exception()
        if error is not None:
            raise error
