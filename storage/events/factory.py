"""Choose and open an event-store adapter from a URL (behind :func:`port.open_event_store`).

Settings name the store with one URL (``QUORATE_EVENT_STORE_URL`` or similar), so switching
between the embedded SQLite file and PostgreSQL is configuration, not code. URLs are read
as :mod:`storage.urls` reads every store URL.
"""

from __future__ import annotations

from storage import urls
from storage.events.errors import UnsupportedEventStoreUrl
from storage.events.port import Clock, EventStore
from storage.events.postgres import DEFAULT_SCHEMA, PostgresEventStore
from storage.events.sqlite import SQLiteEventStore


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///...`` URL (``:memory:`` for an in-memory store)."""
    return urls.sqlite_path(url, UnsupportedEventStoreUrl)


def postgres_dsn(url: str) -> tuple[str, str | None]:
    """The asyncpg DSN of a ``postgresql://`` URL and the ``schema`` query parameter, if any."""
    return urls.postgres_dsn(url, UnsupportedEventStoreUrl)


async def open_event_store_from_url(url: str, *, clock: Clock | None = None) -> EventStore:
    """Open the adapter ``url`` names; see :func:`storage.events.port.open_event_store`."""
    scheme = urls.url_scheme(url)
    if scheme in urls.SQLITE_SCHEMES:
        return await SQLiteEventStore.open(sqlite_path(url), clock=clock)
    if scheme in urls.POSTGRES_SCHEMES:
        dsn, schema = postgres_dsn(url)
        return await PostgresEventStore.open(
            dsn, schema=DEFAULT_SCHEMA if schema is None else schema, clock=clock
        )
    raise urls.unknown_scheme(url, UnsupportedEventStoreUrl)


async def open_event_store_read_only_from_url(url: str) -> EventStore:
    """Open ``url``'s store for reading only; see
    :func:`storage.events.port.open_event_store_read_only`."""
    scheme = urls.url_scheme(url)
    if scheme in urls.SQLITE_SCHEMES:
        return await SQLiteEventStore.open_read_only(sqlite_path(url))
    if scheme in urls.POSTGRES_SCHEMES:
        dsn, schema = postgres_dsn(url)
        return await PostgresEventStore.open_read_only(
            dsn, schema=DEFAULT_SCHEMA if schema is None else schema
        )
    raise urls.unknown_scheme(url, UnsupportedEventStoreUrl)
