"""No password, token or API key of a store or node URL ever reaches a log, an error or CLI output.

Every URL here carries credentials where real ones live: a password after the user name, a
``?password=`` or ``?token=`` query parameter, an API key in a node provider's path and
query. They are exercised on the success path (PostgreSQL on 127.0.0.1:5432 trusts local
logins, so a wrong password still connects), where the server refuses the login (no such
role, a wrong ClickHouse password), where nothing listens (a closed port on 127.0.0.1) and
where the URL itself is refused. Each test then checks every log record (DEBUG and up),
every error's message, ``repr`` and traceback, and the audit CLI's ``--json`` output and
stderr for any of the secrets below: URLs are shown through ``common.urls.redact_url``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import aiohttp.web
import asyncpg  # type: ignore[import-untyped]
import pytest
import typer
from typer.testing import CliRunner, Result

from chains.bitcoin.core_rpc import CoreRpc
from chains.bitcoin.network import NETWORKS
from chains.errors import RpcError
from chains.evm.jsonrpc import JsonRpcEvm
from chains.solana.jsonrpc import JsonRpcSolana
from common.urls import redact_url
from quorate.audit_cli import EXIT_ERROR, audit_app, projections_app
from storage.analytics import open_analytics_sink
from storage.analytics.errors import AnalyticsError
from storage.events.errors import EventStoreError
from storage.events.port import open_event_store
from storage.projections import open_projection_db
from storage.projections.errors import ProjectionError
from tests.storage.analytics.clickhouse_server import ClickHouseServer, start_debian_server
from tests.storage.audit.support import EVENT_COUNT, populate
from tests.storage.events.conftest import POSTGRES_URL

# Test values, distinctive enough that finding one anywhere means it leaked.
PASSWORD = "s3cretpw"  # noqa: S105
TOKEN = "t0ken-5ecret"  # noqa: S105
API_KEY = "ap1-k3y-5ecret"
NODE_PASSWORD = "n0de-pw-5ecret"  # noqa: S105
CLICKHOUSE_PASSWORD = "ch-pw-5ecret"  # noqa: S105
SECRETS = (PASSWORD, TOKEN, API_KEY, NODE_PASSWORD, CLICKHOUSE_PASSWORD)

StoreError = (OSError, asyncpg.PostgresError, EventStoreError, ProjectionError, AnalyticsError)


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into: {text}"


def assert_clean_error(error: BaseException) -> None:
    """The message, the ``repr`` and the whole traceback (causes included) show no secret."""
    assert_clean(str(error), repr(error), "".join(traceback.format_exception(error)))


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert_clean(caplog.text, *(record.getMessage() for record in caplog.records))


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def postgres(schema: str, *, user: str = "postgres", port: int = 5432, extra: str = "") -> str:
    """A PostgreSQL URL with a password twice over: after the user and in the query."""
    return (
        f"postgresql://{user}:{PASSWORD}@127.0.0.1:{port}/test"
        f"?schema={schema}&password={PASSWORD}{extra}"
    )


async def _drop_schemas(*schemas: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        for schema in schemas:
            # Generated below from a UUID: a safe identifier.
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@pytest.fixture
def schemas() -> Iterator[tuple[str, str]]:
    """Fresh schema names for an event store and a projection database, dropped afterwards."""
    names = (f"qcred_{uuid4().hex}", f"qcredp_{uuid4().hex}")
    yield names
    asyncio.run(_drop_schemas(*names))


# -- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql://quorate:{PASSWORD}@127.0.0.1:5432/test?schema=x&password={PASSWORD}",
            "postgresql://quorate@127.0.0.1:5432/test?schema=x",
        ),
        (
            f"clickhouse://user:{CLICKHOUSE_PASSWORD}@host/db?token={TOKEN}&driver=http",
            "clickhouse://user@host/db?driver=http",
        ),
        (
            f"https://user:{NODE_PASSWORD}@rpc.example.com:8443/v3/{API_KEY}?api_key={API_KEY}",
            "https://rpc.example.com:8443",
        ),
        (f"https://{API_KEY}@rpc.example.com/", "https://rpc.example.com"),
        (f"wss://rpc.example.com/ws/{API_KEY}#{TOKEN}", "wss://rpc.example.com"),
        (f"sqlite:///data/events.sqlite3#{TOKEN}", "sqlite:///data/events.sqlite3"),
        # A password with an unescaped "/" splits the authority: only the scheme shows.
        (f"postgresql://u:{PASSWORD[:3]}/{PASSWORD[3:]}@h/db", "postgresql://?"),
        (f"clickhouse://u:{PASSWORD}@h:port/db", "clickhouse://u@h/db"),
        (f"{PASSWORD}", ""),
    ],
)
def test_one_rule_shows_where_never_who_or_what_key(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# -- stores: success, refused logins, nothing listening, refused URLs -------------------------


async def test_stores_opened_with_credentials_never_show_them(schemas: tuple[str, str]) -> None:
    events_schema, projections_schema = schemas
    async with await open_event_store(postgres(events_schema)) as store:
        assert_clean(store.url)
        assert store.url == f"postgresql://postgres@127.0.0.1:5432/test?schema={events_schema}"
        stored = await populate(store)
        assert len(stored) == EVENT_COUNT
    async with await open_projection_db(postgres(projections_schema)) as db:
        assert_clean(db.url)
        assert db.url.endswith(f"?schema={projections_schema}")


async def _refused(opening: Callable[[], Awaitable[object]]) -> BaseException:
    with pytest.raises(StoreError) as caught:
        await opening()
    error: BaseException = caught.value
    return error


@pytest.mark.parametrize("opener", [open_event_store, open_projection_db])
async def test_a_refused_login_names_no_password(
    opener: Callable[[str], Awaitable[object]],
) -> None:
    # There is no role "quorate": the server refuses the login itself.
    assert_clean_error(await _refused(lambda: opener(postgres("x", user="quorate"))))


@pytest.mark.parametrize("opener", [open_event_store, open_projection_db])
async def test_an_unreachable_store_names_no_password(
    opener: Callable[[str], Awaitable[object]],
) -> None:
    url = postgres("x", user="quorate", port=closed_port(), extra=f"&token={TOKEN}")
    assert_clean_error(await _refused(lambda: opener(url)))


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://root:{PASSWORD}@db/quorate?token={TOKEN}",
        f"postgresql://u:{PASSWORD}@h/db?schema=a&schema=b&password={PASSWORD}",
        f"postgresql://u:{PASSWORD}@127.0.0.1:9/db?schema=Bad-Name&password={PASSWORD}",
        f"sqlite://u:{PASSWORD}@host/events.sqlite3?token={TOKEN}",
        f"{PASSWORD}",
    ],
)
@pytest.mark.parametrize("opener", [open_event_store, open_projection_db])
async def test_a_refused_store_url_names_no_password(
    opener: Callable[[str], Awaitable[object]], url: str
) -> None:
    assert_clean_error(await _refused(lambda: opener(url)))


# -- analytics ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    server = start_debian_server(tmp_path_factory.mktemp("clickhouse-credentials"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "query",
    [
        f"?token={TOKEN}",
        f"?driver=http&timeout=5&password={PASSWORD}",
        "?driver=http&timeout=5",
        "?driver=connect&timeout=5",
        "?driver=auto&timeout=5",
    ],
)
async def test_analytics_errors_name_no_password(query: str) -> None:
    url = f"clickhouse://analyst:{CLICKHOUSE_PASSWORD}@127.0.0.1:{closed_port()}/forensics{query}"
    assert_clean_error(await _refused(lambda: open_analytics_sink(url)))


@pytest.mark.parametrize("driver", ["http", "connect", "auto"])
async def test_a_clickhouse_server_refusing_the_password_is_not_told_to_anyone(
    clickhouse: ClickHouseServer, driver: str
) -> None:
    # The server's default user has no password, so this one is wrong: the server refuses.
    host = clickhouse.url.removeprefix("clickhouse://")
    url = f"clickhouse://default:{CLICKHOUSE_PASSWORD}@{host}/forensics?driver={driver}"
    assert_clean_error(await _refused(lambda: open_analytics_sink(url)))


# -- chain nodes -------------------------------------------------------------------------------


def _node_url(port: int) -> str:
    return f"http://user:{NODE_PASSWORD}@127.0.0.1:{port}/v3/{API_KEY}?api_key={API_KEY}"


@pytest.fixture
async def failing_node() -> AsyncIterator[int]:
    """A node on loopback that answers every request with HTTP 500; its port."""

    async def fail(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(status=500, text="internal error")

    app = aiohttp.web.Application()
    app.router.add_route("*", "/{tail:.*}", fail)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    await aiohttp.web.SockSite(runner, listening).start()
    try:
        yield listening.getsockname()[1]
    finally:
        await runner.cleanup()


async def _node_errors(url: str) -> list[BaseException]:
    errors: list[BaseException] = []
    evm = JsonRpcEvm(url)
    solana = JsonRpcSolana(url)
    bitcoin = CoreRpc(url, NETWORKS["regtest"], local=False)
    try:
        for call in (evm.chain_id, solana.slot, bitcoin.height):
            with pytest.raises(RpcError) as caught:
                await call()
            errors.append(caught.value)
    finally:
        await evm.close()
        await solana.close()
        await bitcoin.close()
    return errors


async def test_an_unreachable_node_names_no_credential() -> None:
    errors = await _node_errors(_node_url(closed_port()))
    assert len(errors) == 3
    for error in errors:
        assert_clean_error(error)


async def test_a_failing_node_names_no_credential(failing_node: int) -> None:
    errors = await _node_errors(_node_url(failing_node))
    assert "HTTP 500 from http://127.0.0.1:" in str(errors[0])
    for error in errors:
        assert_clean_error(error)


# -- the audit CLI -----------------------------------------------------------------------------


def _run(app: typer.Typer, *args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), env=env)
    assert_clean(result.output, result.stdout, result.stderr)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert_clean_error(result.exception)
    return result


def _json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def _populate(url: str) -> None:
    async with await open_event_store(url) as store:
        await populate(store)


def test_the_audit_cli_shows_no_credential(schemas: tuple[str, str], tmp_path: Path) -> None:
    events_schema, projections_schema = schemas
    events, projections = postgres(events_schema), postgres(projections_schema)
    asyncio.run(_populate(events))
    now = datetime.now(UTC).isoformat()
    stores = ("--url", events, "--projections-url", projections)

    report = _json(_run(audit_app, "verify", "--url", events, "--json"))
    assert isinstance(report, dict)
    assert report["ok"] is True
    assert report["source"] == f"postgresql://postgres@127.0.0.1:5432/test?schema={events_schema}"

    out = tmp_path / "audit.jsonl"
    manifest = _json(_run(audit_app, "export", "--url", events, "--out", str(out), "--json"))
    assert isinstance(manifest, dict)
    assert manifest["count"] == EVENT_COUNT
    assert_clean(out.read_text(), Path(f"{out}.manifest.json").read_text())

    for source in ("events", "auto"):
        rows = _json(
            _run(audit_app, "query", *stores, "--wallet", "w1", "--source", source, "--json")
        )
        assert isinstance(rows, list)
        assert rows
        _json(_run(audit_app, "state", *stores, "--wallet", "w1", "--as-of", now, "--json"))
        _json(_run(audit_app, "transactions", *stores, "--wallet", "w1", "--json"))

    rebuilt = _run(projections_app, "rebuild", "--all", *stores)
    assert rebuilt.exit_code == 0, rebuilt.output
    for command in (
        ("query", "--wallet", "w1"),
        ("state", "--wallet", "w1", "--as-of", now),
        ("transactions", "--wallet", "w1"),
    ):
        _json(_run(audit_app, *command, *stores, "--source", "projection", "--json"))

    # The event store URL from the settings (QUORATE_EVENT_STORE_URL), not the command line.
    # A data directory of its own: a checkpoint key in ./data (after a demo) must not count.
    result = _run(
        audit_app,
        "verify",
        "--json",
        env={"QUORATE_EVENT_STORE_URL": events, "QUORATE_DATA_DIR": str(tmp_path / "data")},
    )
    assert _json(result) == report


def test_the_audit_cli_fails_without_showing_a_credential(schemas: tuple[str, str]) -> None:
    events = postgres(schemas[0])
    asyncio.run(_populate(events))
    unreachable = postgres("x", port=closed_port(), extra=f"&token={TOKEN}")
    refused = postgres("x", user="quorate")
    unsupported = f"mysql://root:{PASSWORD}@db/x?token={TOKEN}"
    for url in (unreachable, refused, unsupported):
        verify = _run(audit_app, "verify", "--url", url, "--json")
        query = _run(
            audit_app,
            *("query", "--url", events, "--projections-url", url),
            *("--wallet", "w1", "--source", "projection", "--json"),
        )
        rebuild = _run(
            projections_app, "rebuild", "--all", "--url", events, "--projections-url", url
        )
        for result in (verify, query, rebuild):
            # The CLI reports unreachable and unsupported stores as errors (exit 2); a login
            # the server refuses escapes as asyncpg's own error (a traceback, exit 1).
            assert result.exit_code == (1 if url == refused else EXIT_ERROR), result.output
