"""The process the kill test SIGKILLs: a projection runner that hangs in the middle of a batch.

Run as ``python -m tests.storage.projections.runner_child STORE_URL PROJECTION_URL
BATCH_SIZE HANG_AT MARKER``. It runs the default projections, except that the last one
(``audit``) is wrapped: once it has applied the event at position ``HANG_AT`` it writes that
position to ``MARKER`` and sleeps. By then the batch's transaction holds rows of every
projection (the others applied the whole batch first) and the audit rows up to ``HANG_AT``,
none of it committed: the parent kills the process right there. The hook lives here, in the
tests, so production code carries no test switch.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from storage.events.port import StoredEvent, open_event_store
from storage.projections import ProjectionRunner, default_projections, open_projection_db
from storage.projections.port import Projection, ProjectionTx


class HangAfter(Projection):
    """``inner``, but it stops forever right after applying position ``hang_at``."""

    def __init__(self, inner: Projection, hang_at: int, marker: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.tables = inner.tables
        self.hang_at = hang_at
        self.marker = marker

    async def setup(self, tx: ProjectionTx) -> None:
        await self.inner.setup(tx)

    async def reset(self, tx: ProjectionTx) -> None:
        await self.inner.reset(tx)

    async def apply(self, tx: ProjectionTx, event: StoredEvent) -> None:
        await self.inner.apply(tx, event)
        if event.position == self.hang_at:
            self.marker.write_text(str(event.position))
            await asyncio.sleep(3600)


async def main(
    store_url: str, projection_url: str, batch_size: int, hang_at: int, marker: Path
) -> None:
    store = await open_event_store(store_url)
    db = await open_projection_db(projection_url)
    projections = default_projections()
    projections[-1] = HangAfter(projections[-1], hang_at, marker)
    runner = ProjectionRunner(store, db, projections, batch_size)
    await runner.run_until()


if __name__ == "__main__":
    store_url, projection_url, batch_size, hang_at, marker = sys.argv[1:]
    asyncio.run(main(store_url, projection_url, int(batch_size), int(hang_at), Path(marker)))
