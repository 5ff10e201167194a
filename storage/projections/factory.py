"""Open a projection database from a URL, so the choice of database is configuration.

``sqlite:///relative/path.sqlite3``, ``sqlite:////absolute/path.sqlite3`` or
``sqlite:///:memory:`` (the embedded default), and
``postgresql://user[:password]@host:port/db[?schema=name]`` (schema ``projections`` by
default). The URL spelling is :func:`storage.events.port.open_event_store`'s (both are read
by :mod:`storage.urls`), so the projections can sit next to the events (same server, other
schema) or anywhere else.
"""

from __future__ import annotations

from common.urls import redact_url
from storage import urls
from storage.projections.errors import UnsupportedProjectionDbUrl
from storage.projections.port import ProjectionDb
from storage.projections.postgres import DEFAULT_SCHEMA, PostgresProjectionDb
from storage.projections.sqlite import SQLiteProjectionDb


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///...`` URL (``:memory:`` for a private database)."""
    return urls.sqlite_path(url, UnsupportedProjectionDbUrl)


def postgres_dsn(url: str) -> tuple[str, str]:
    """The asyncpg DSN of a ``postgresql://`` URL, and its ``schema`` (default: projections)."""
    dsn, schema = urls.postgres_dsn(url, UnsupportedProjectionDbUrl)
    return dsn, DEFAULT_SCHEMA if schema is None else schema


async def open_projection_db(url: str) -> ProjectionDb:
    """Open the projection database ``url`` names, creating its schema and checkpoint table.

    Raises :class:`UnsupportedProjectionDbUrl` for any other scheme, and
    :class:`~storage.projections.errors.InvalidIdentifier` for a bad schema name.
    """
    scheme = urls.url_scheme(url)
    if scheme in urls.SQLITE_SCHEMES:
        return await SQLiteProjectionDb.open(sqlite_path(url))
    if scheme in urls.POSTGRES_SCHEMES:
        dsn, schema = postgres_dsn(url)
        shown = redact_url(dsn)
        shown += ("&" if "?" in shown else "?") + f"schema={schema}"
        return await PostgresProjectionDb.open(dsn, schema=schema, url=shown)
    raise urls.unknown_scheme(url, UnsupportedProjectionDbUrl)
