"""The projection worker: follows the event store and keeps the read models current.

``python -m workers.projections`` runs the current-state, party-health and audit
projections (storage.projections) on the projection database
(``QUORATE_PROJECTIONS_URL``, by default ``<data dir>/projections.sqlite3``), woken by
new events (LISTEN/NOTIFY on PostgreSQL, polling on SQLite), until SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from runtime.files import restrict_umask
from runtime.settings import Settings
from storage.events.port import open_event_store
from storage.projections import ProjectionRunner, default_projections, open_projection_db


async def run_projections(settings: Settings) -> None:
    store = await open_event_store(settings.events_url)
    database = await open_projection_db(settings.projections_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        runner = ProjectionRunner(store, database, default_projections())
        await runner.setup()
        logging.getLogger(__name__).info("projections following %s", store.url)
        await runner.run_forever(stop)
    finally:
        await database.close()
        await store.close()


def main() -> None:
    restrict_umask()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_projections(Settings.from_env()))


if __name__ == "__main__":
    main()
