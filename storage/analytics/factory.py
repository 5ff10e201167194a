"""Choose and open an analytics sink from a URL.

Settings name the analytics database with one URL, so moving from the embedded chdb to a
ClickHouse server is configuration, not code:

* ``chdb:///relative/dir``, ``chdb:////absolute/dir`` or ``chdb:///:memory:`` (the
  embedded default; three slashes then a relative path, four for an absolute one, as the
  event store's ``sqlite:`` URLs), optionally ``?database=name``;
* ``clickhouse://[user[:password]@]host[:port][/database][?driver=auto|connect|http]``
  (HTTP, port 8123 by default) or ``clickhouses://...`` (HTTPS, port 8443 by default).
  Other query parameters: ``timeout`` (seconds).
"""

from __future__ import annotations

import math
from typing import cast
from urllib.parse import parse_qsl, unquote, urlsplit

from storage.analytics.embedded import ChdbSink
from storage.analytics.errors import UnsupportedAnalyticsUrl
from storage.analytics.port import DEFAULT_DATABASE, AnalyticsSink
from storage.analytics.server import (
    DEFAULT_TIMEOUT_SECONDS,
    Driver,
    ServerLocation,
    open_server_sink,
)
from storage.analytics.sql import Identifier
from storage.urls import url_scheme

CHDB_SCHEMES = frozenset({"chdb"})
SERVER_SCHEMES = frozenset({"clickhouse", "clickhouses"})
DRIVERS: frozenset[str] = frozenset({"auto", "connect", "http"})


def _query(url: str, allowed: frozenset[str]) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=False)
    result: dict[str, str] = {}
    for key, value in pairs:
        if key not in allowed:
            raise UnsupportedAnalyticsUrl(url, f"unknown parameter {key!r}")
        if key in result:
            raise UnsupportedAnalyticsUrl(url, f"{key} given more than once")
        result[key] = value
    return result


def _database(url: str, name: str) -> str:
    try:
        return Identifier(name).name
    except ValueError as exc:
        raise UnsupportedAnalyticsUrl(url, str(exc)) from exc


def chdb_location(url: str) -> tuple[str, str]:
    """The directory (or ``:memory:``) and database of a ``chdb:///...`` URL."""
    parts = urlsplit(url)
    if parts.netloc or parts.fragment:
        raise UnsupportedAnalyticsUrl(
            url, "expected chdb:///relative/dir, chdb:////absolute/dir or chdb:///:memory:"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise UnsupportedAnalyticsUrl(url, "no chdb directory")
    query = _query(url, frozenset({"database"}))
    return unquote(path), _database(url, query.get("database", DEFAULT_DATABASE))


def server_location(url: str) -> tuple[ServerLocation, Driver, float]:
    """The server, driver and timeout of a ``clickhouse://`` or ``clickhouses://`` URL."""
    parts = urlsplit(url)
    secure = parts.scheme.lower() == "clickhouses"
    if not parts.hostname:
        raise UnsupportedAnalyticsUrl(url, "no host")
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError as exc:
        raise UnsupportedAnalyticsUrl(url, "bad port") from exc
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) > 1:
        raise UnsupportedAnalyticsUrl(url, "the path names one database at most")
    database = _database(url, unquote(segments[0]) if segments else DEFAULT_DATABASE)
    query = _query(url, frozenset({"driver", "timeout"}))
    driver = query.get("driver", "auto")
    if driver not in DRIVERS:
        raise UnsupportedAnalyticsUrl(url, f"driver must be one of {sorted(DRIVERS)}")
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT_SECONDS))
    except ValueError as exc:
        raise UnsupportedAnalyticsUrl(url, "timeout must be a number of seconds") from exc
    if not (math.isfinite(timeout) and timeout > 0):
        raise UnsupportedAnalyticsUrl(url, "timeout must be positive")
    location = ServerLocation(
        host=parts.hostname,
        port=port,
        secure=secure,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=database,
    )
    return location, cast(Driver, driver), timeout


async def open_analytics_sink(url: str) -> AnalyticsSink:
    """Open the analytics sink ``url`` names, creating its database and tables if missing.

    Raises :class:`~storage.analytics.errors.UnsupportedAnalyticsUrl` for a URL no adapter
    serves, :class:`~storage.analytics.errors.AnalyticsUnavailable` or
    :class:`~storage.analytics.errors.AnalyticsQueryFailed` when the database cannot be
    reached or refuses the schema.
    """
    scheme = url_scheme(url)
    if scheme in CHDB_SCHEMES:
        path, database = chdb_location(url)
        return await ChdbSink.open(path, database=database)
    if scheme in SERVER_SCHEMES:
        location, driver, timeout = server_location(url)
        return await open_server_sink(location, driver=driver, timeout=timeout)
    raise UnsupportedAnalyticsUrl(
        url,
        f"unknown scheme {scheme!r}; use chdb:///dir or clickhouse://host:8123/db",
    )
