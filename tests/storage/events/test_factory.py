"""Opening a store by URL: schemes, paths, schema names, and URLs shown without secrets."""

from __future__ import annotations

import pytest

from common.urls import redact_url
from storage.events.errors import InvalidSchemaName, UnsupportedEventStoreUrl
from storage.events.factory import postgres_dsn, sqlite_path
from storage.events.port import open_event_store
from storage.events.postgres import quote_schema


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root:hunter2@db/quorate",
        "postgresql+asyncpg://u:hunter2@h/db",
        "redis://127.0.0.1:6379",
        "events.sqlite3",
        "",
    ],
)
async def test_unknown_scheme(url: str) -> None:
    with pytest.raises(UnsupportedEventStoreUrl) as caught:
        await open_event_store(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/events.sqlite3", "data/events.sqlite3"),
        ("sqlite:////var/lib/quorate/events.sqlite3", "/var/lib/quorate/events.sqlite3"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_paths(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    "url", ["sqlite://host/events.sqlite3", "sqlite:///", "sqlite:///a.db?mode=ro"]
)
def test_malformed_sqlite_urls(url: str) -> None:
    with pytest.raises(UnsupportedEventStoreUrl):
        sqlite_path(url)


def test_postgres_dsn_takes_the_schema_out() -> None:
    assert postgres_dsn("postgresql://u:p@h:5432/db?schema=s1&sslmode=require") == (
        "postgresql://u:p@h:5432/db?sslmode=require",
        "s1",
    )
    assert postgres_dsn("postgres://u@h/db") == ("postgresql://u@h/db", None)
    with pytest.raises(UnsupportedEventStoreUrl):
        postgres_dsn("postgresql://u@h/db?schema=a&schema=b")


def test_redact_url_hides_secrets() -> None:
    assert (
        redact_url("postgresql://u:hunter2@h:5432/db?schema=s&password=hunter2")
        == "postgresql://u@h:5432/db?schema=s"
    )
    assert redact_url("postgresql://u:hunter2@[::1]:5432/db") == "postgresql://u@[::1]:5432/db"


@pytest.mark.parametrize(
    "schema", ["", "Upper", "1abc", "a-b", 'x"; DROP TABLE events; --', "pg_catalog", "a" * 64]
)
async def test_invalid_schema_names_are_refused_before_connecting(schema: str) -> None:
    with pytest.raises(InvalidSchemaName):
        quote_schema(schema)
    # Port 9 has no server: the name must be refused before any connection is tried.
    with pytest.raises(InvalidSchemaName):
        await open_event_store(f"postgresql://u@127.0.0.1:9/db?schema={schema}")


def test_valid_schema_names_are_quoted() -> None:
    assert quote_schema("event_store") == '"event_store"'
    assert quote_schema("_t" + "x" * 61) == '"_t' + "x" * 61 + '"'
