"""Open a projection database from a URL, so the choice of database is configuration.

``sqlite:///relative/path.sqlite3``, ``sqlite:////absolute/path.sqlite3`` or
``sqlite:///:memory:`` (the embedded default), and
``postgresql://user[:password]@host:port/db[?schema=name]`` (schema ``projections`` by
default). The URL spelling matches :func:`storage.events.port.open_event_store`'s, so the
projections can sit next to the events (same server, other schema) or anywhere else.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from storage.projections.errors import UnsupportedProjectionDbUrl
from storage.projections.port import ProjectionDb
from storage.projections.postgres import DEFAULT_SCHEMA, PostgresProjectionDb
from storage.projections.sqlite import SQLiteProjectionDb

SQLITE_SCHEMES = frozenset({"sqlite"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def display_url(url: str) -> str:
    """``url`` without its password; of the query only ``schema`` is kept (others may be secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k == "schema"])
    # Built by hand: urlunsplit drops the "//" of an empty host ("postgresql:///db").
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///...`` URL (``:memory:`` for a private database)."""
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment:
        raise UnsupportedProjectionDbUrl(
            url, "expected sqlite:///relative/path, sqlite:////absolute/path or sqlite:///:memory:"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise UnsupportedProjectionDbUrl(url, "no database path")
    return path


def postgres_dsn(url: str) -> tuple[str, str]:
    """The asyncpg DSN of a ``postgresql://`` URL, and its ``schema`` (default: projections).

    ``schema`` is Quorate's parameter, not libpq's, so it is removed before asyncpg sees it.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1:
        raise UnsupportedProjectionDbUrl(display_url(url), "schema given more than once")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    dsn = f"postgresql://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
    return dsn, (schemas[0] if schemas else DEFAULT_SCHEMA)


async def open_projection_db(url: str) -> ProjectionDb:
    """Open the projection database ``url`` names, creating its schema and checkpoint table.

    Raises :class:`UnsupportedProjectionDbUrl` for any other scheme, and
    :class:`~storage.projections.errors.InvalidIdentifier` for a bad schema name.
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in SQLITE_SCHEMES:
        return await SQLiteProjectionDb.open(sqlite_path(url))
    if scheme in POSTGRES_SCHEMES:
        dsn, schema = postgres_dsn(url)
        shown = display_url(dsn)
        shown += ("&" if "?" in shown else "?") + f"schema={schema}"
        return await PostgresProjectionDb.open(dsn, schema=schema, url=shown)
    raise UnsupportedProjectionDbUrl(
        display_url(url) if scheme else url,
        f"unknown scheme {scheme!r}; use sqlite:///path or postgresql://user@host:port/db",
    )
