"""Reading the store URLs that the event store and the projection database share.

``sqlite:///relative/path``, ``sqlite:////absolute/path`` or ``sqlite:///:memory:``, and
``postgresql://user[:password]@host:port/db[?schema=name]``: the same spelling for both, so
the projections can sit next to the events or anywhere else. Each caller names the error
it refuses a URL with (its package's :class:`~storage.errors.UnsupportedUrl`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from storage.errors import UnsupportedUrl

SQLITE_SCHEMES = frozenset({"sqlite"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


def url_scheme(url: str) -> str:
    """The scheme of ``url``, lowercased; empty if it has none."""
    return url.split(":", 1)[0].lower() if ":" in url else ""


def sqlite_path(url: str, error: type[UnsupportedUrl]) -> str:
    """The file path of a ``sqlite:///...`` URL (``:memory:`` for a private database).

    Three slashes then a relative path, four for an absolute one, as SQLAlchemy spells it.
    """
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment:
        raise error(
            url, "expected sqlite:///relative/path, sqlite:////absolute/path or sqlite:///:memory:"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise error(url, "no database path")
    return path


def postgres_dsn(url: str, error: type[UnsupportedUrl]) -> tuple[str, str | None]:
    """The asyncpg DSN of a ``postgresql://`` URL and its ``schema`` query parameter, if any.

    ``schema`` is Quorate's, not libpq's, so it is removed before asyncpg sees the DSN.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1:
        raise error(url, "schema given more than once")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    # Built by hand: urlunsplit would drop the "//" of an empty host ("postgresql:///db").
    dsn = f"postgresql://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
    return dsn, (schemas[0] if schemas else None)


def unknown_scheme(url: str, error: type[UnsupportedUrl]) -> UnsupportedUrl:
    """The error for a URL that is neither SQLite nor PostgreSQL."""
    return error(
        url,
        f"unknown scheme {url_scheme(url)!r}; use sqlite:///path or postgresql://user@host:port/db",
    )
