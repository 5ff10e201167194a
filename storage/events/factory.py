"""Choose and open an event-store adapter from a URL (behind :func:`port.open_event_store`).

Settings name the store with one URL (``QUORATE_EVENT_STORE_URL`` or similar), so switching
between the embedded SQLite file and PostgreSQL is configuration, not code.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from storage.events._core import display_url
from storage.events.errors import UnsupportedEventStoreUrl
from storage.events.port import Clock, EventStore
from storage.events.postgres import DEFAULT_SCHEMA, PostgresEventStore
from storage.events.sqlite import SQLiteEventStore

SQLITE_SCHEMES = frozenset({"sqlite"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///...`` URL (``:memory:`` for an in-memory store).

    Three slashes then a relative path, four for an absolute one, as SQLAlchemy spells it.
    """
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment:
        raise UnsupportedEventStoreUrl(
            url, "expected sqlite:///relative/path, sqlite:////absolute/path or sqlite:///:memory:"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise UnsupportedEventStoreUrl(url, "no database path")
    return path


def postgres_dsn(url: str) -> tuple[str, str | None]:
    """The asyncpg DSN of a ``postgresql://`` URL and the ``schema`` query parameter, if any.

    ``schema`` is Quorate's, not libpq's, so it is removed before asyncpg sees the DSN.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1:
        raise UnsupportedEventStoreUrl(display_url(url), "schema given more than once")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    # Built by hand: urlunsplit would drop the "//" of an empty host ("postgresql:///db").
    dsn = f"postgresql://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
    return dsn, (schemas[0] if schemas else None)


async def open_event_store_from_url(url: str, *, clock: Clock | None = None) -> EventStore:
    """Open the adapter ``url`` names; see :func:`storage.events.port.open_event_store`."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in SQLITE_SCHEMES:
        return await SQLiteEventStore.open(sqlite_path(url), clock=clock)
    if scheme in POSTGRES_SCHEMES:
        dsn, schema = postgres_dsn(url)
        return await PostgresEventStore.open(
            dsn, schema=DEFAULT_SCHEMA if schema is None else schema, clock=clock
        )
    raise UnsupportedEventStoreUrl(
        display_url(url) if scheme else url,
        f"unknown scheme {scheme!r}; use sqlite:///path or postgresql://user@host:port/db",
    )
