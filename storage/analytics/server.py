"""Analytics sinks on a ClickHouse server: clickhouse-connect, or the plain HTTP interface.

:class:`ClickHouseConnectSink` is the adapter for a current server: clickhouse-connect (the
official driver) brings connection pooling, compression, TLS and retries of idempotent
requests. It cannot talk to old servers, though: while connecting it reads
``system.settings.readonly``, a column ClickHouse 18.x does not have (Debian bookworm ships
``clickhouse-server`` 18.16.1), and it fails with ``Unknown identifier: readonly``.

:class:`ClickHouseHttpSink` therefore speaks ClickHouse's HTTP interface directly (aiohttp,
POST a statement, read ``JSONEachRow``), which every ClickHouse since 1.1 serves unchanged.
:func:`open_server_sink` picks between them (``driver=auto``) by checking for exactly the
column clickhouse-connect needs.

Both adapters only move SQL text and ``JSONEachRow`` bytes, so the rows, the checkpoint and
the queries are the ones :class:`~storage.analytics.port.AnalyticsSink` defines for every
adapter.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import clickhouse_connect
from clickhouse_connect.driver.client import Client as ClickHouseConnectClient
from clickhouse_connect.driver.exceptions import ClickHouseError

from common.urls import redact_url
from storage.analytics.errors import AnalyticsQueryFailed, AnalyticsUnavailable
from storage.analytics.port import DEFAULT_DATABASE, AnalyticsSink
from storage.analytics.sql import Identifier, bind

Driver = Literal["auto", "connect", "http"]
"""How to reach a server: clickhouse-connect, plain HTTP, or whichever the server supports."""

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ServerLocation:
    """Where a ClickHouse server is and how to log in; ``repr`` hides the password."""

    host: str
    port: int = 8123
    secure: bool = False
    username: str = "default"
    password: str = ""
    database: str = DEFAULT_DATABASE

    def __repr__(self) -> str:
        return (
            f"ServerLocation(host={self.host!r}, port={self.port}, secure={self.secure}, "
            f"username={self.username!r}, password=<redacted>, database={self.database!r})"
        )

    @property
    def endpoint(self) -> str:
        """The server's HTTP(S) root, e.g. ``http://127.0.0.1:8123/``."""
        scheme = "https" if self.secure else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"

    @property
    def display_url(self) -> str:
        """The location as a ``clickhouse://`` URL for messages, shown by the one rule
        (:func:`common.urls.redact_url`): never the password."""
        scheme = "clickhouses" if self.secure else "clickhouse"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return redact_url(f"{scheme}://{quote(self.username)}@{host}:{self.port}/{self.database}")


class ClickHouseHttpSink(AnalyticsSink):
    """Analytics tables on any ClickHouse server, through its HTTP interface."""

    def __init__(
        self, session: aiohttp.ClientSession, location: ServerLocation, *, url: str
    ) -> None:
        super().__init__(url=url, database=location.database)
        self._session = session
        self._location = location

    @classmethod
    async def open(
        cls,
        location: ServerLocation,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        create_schema: bool = True,
    ) -> ClickHouseHttpSink:
        """Connect to the server at ``location`` and create the schema if missing."""
        credentials = f"{location.username}:{location.password}".encode()
        session = aiohttp.ClientSession(
            # Basic auth rather than the X-ClickHouse-User/Key headers: old servers only
            # read credentials from Basic auth or the URL, and the URL would log them.
            headers={"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")},
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        sink = cls(session, location, url=location.display_url + "?driver=http")
        return await sink._opened(create_schema=create_schema)

    async def _post(self, body: bytes, params: dict[str, str]) -> str:
        self._check_open()
        # wait_end_of_query makes the server buffer the whole answer before sending the
        # status line, so an error met halfway through a query is an HTTP error instead of a
        # 200 followed by a truncated body.
        query = {"wait_end_of_query": "1", **params}
        statement = params.get("query") or body.decode("utf-8", "replace")
        try:
            async with self._session.post(
                self._location.endpoint, params=query, data=body
            ) as response:
                text = await response.text(encoding="utf-8")
                if response.status != 200:
                    raise AnalyticsQueryFailed(
                        self.url, statement, f"HTTP {response.status}: {text.strip()[:1000]}"
                    )
                return text
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AnalyticsQueryFailed(self.url, statement, f"{type(exc).__name__}: {exc}") from exc

    async def _execute(self, sql: str) -> None:
        await self._post(sql.encode("utf-8"), {})

    async def _select(self, sql: str) -> list[dict[str, Any]]:
        text = await self._post((sql + "\nFORMAT JSONEachRow").encode("utf-8"), {})
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    async def _insert(self, table: str, body: bytes) -> None:
        # The statement goes in the URL and the rows in the body: the server then streams
        # the body as data instead of parsing it as part of the query text.
        await self._post(body, {"query": self._insert_statement(table)})

    async def server_version(self) -> str:
        """The server's ``version()``, e.g. ``18.16.1``."""
        rows = await self._select("SELECT version() AS version")
        return str(rows[0]["version"])

    async def supports_clickhouse_connect(self) -> bool:
        """Whether clickhouse-connect can connect: it needs ``system.settings.readonly``."""
        rows = await self._select(
            "SELECT count() AS n FROM system.columns "
            "WHERE database = 'system' AND table = 'settings' AND name = 'readonly'"
        )
        return int(rows[0]["n"]) > 0

    async def _close(self) -> None:
        await self._session.close()


class ClickHouseConnectSink(AnalyticsSink):
    """Analytics tables on a ClickHouse server, through clickhouse-connect.

    The synchronous client runs in a worker thread. Its async client would avoid the
    thread, but the synchronous one is the client clickhouse-connect also offers over its
    in-process chdb backend, so the tests run this very adapter against a real ClickHouse
    engine even where the only server at hand is too old for clickhouse-connect.
    """

    def __init__(self, client: ClickHouseConnectClient, *, url: str, database: str) -> None:
        super().__init__(url=url, database=database)
        self._client = client
        # The client is not meant for concurrent use; the lock also keeps this sink's
        # statements in the order they were awaited.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        location: ServerLocation,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        create_schema: bool = True,
    ) -> ClickHouseConnectSink:
        """Connect to the server at ``location`` and create the schema if missing."""

        def connect() -> ClickHouseConnectClient:
            return clickhouse_connect.get_client(
                host=location.host,
                port=location.port,
                username=location.username,
                password=location.password,
                secure=location.secure,
                connect_timeout=timeout,
                send_receive_timeout=timeout,
            )

        try:
            client = await asyncio.to_thread(connect)
        except ClickHouseError as exc:
            raise AnalyticsUnavailable(
                f"clickhouse-connect cannot connect to {location.display_url}: {exc}. "
                "Servers older than clickhouse-connect supports (such as Debian's 18.16) "
                "work with driver=http."
            ) from exc
        return await cls.wrap(
            client,
            url=location.display_url + "?driver=connect",
            database=location.database,
            create_schema=create_schema,
        )

    @classmethod
    async def wrap(
        cls,
        client: ClickHouseConnectClient,
        *,
        url: str,
        database: str = DEFAULT_DATABASE,
        create_schema: bool = True,
    ) -> ClickHouseConnectSink:
        """A sink over an existing clickhouse-connect client (any of its backends)."""
        return await cls(client, url=url, database=database)._opened(create_schema=create_schema)

    async def _call(self, statement: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        self._check_open()
        async with self._lock:
            try:
                return await asyncio.to_thread(function, *args, **kwargs)
            except ClickHouseError as exc:
                raise AnalyticsQueryFailed(self.url, statement, str(exc).strip()) from exc

    async def _execute(self, sql: str) -> None:
        await self._call(sql, self._client.command, sql)

    async def _select(self, sql: str) -> list[dict[str, Any]]:
        raw: bytes = await self._call(sql, self._client.raw_query, sql, fmt="JSONEachRow")
        return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]

    async def _insert(self, table: str, body: bytes) -> None:
        target = bind("{db}.{table}", {"db": self.database, "table": Identifier(table)})
        await self._call(
            self._insert_statement(table),
            self._client.raw_insert,
            target,
            insert_block=body,
            fmt="JSONEachRow",
        )

    async def _close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._client.close)


async def open_server_sink(
    location: ServerLocation,
    *,
    driver: Driver = "auto",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> AnalyticsSink:
    """Open the analytics sink on the server at ``location`` with the chosen ``driver``.

    ``auto`` asks the server over plain HTTP whether clickhouse-connect can work with it and
    uses clickhouse-connect if so, plain HTTP otherwise.
    """
    if driver == "connect":
        return await ClickHouseConnectSink.open(location, timeout=timeout)
    http = await ClickHouseHttpSink.open(location, timeout=timeout, create_schema=False)
    try:
        if driver == "auto" and await http.supports_clickhouse_connect():
            await http.close()
            return await ClickHouseConnectSink.open(location, timeout=timeout)
        await http.ensure_schema()
    except BaseException:
        await http.close()
        raise
    return http
