"""Unit tests that need no database: URLs, identifiers, the SQL rewrite, the health formula."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from common.urls import redact_url
from storage.projections import (
    DuplicateProjection,
    InvalidIdentifier,
    ProjectionRunner,
    UnsupportedProjectionDbUrl,
    default_projections,
    open_projection_db,
)
from storage.projections.factory import postgres_dsn, sqlite_path
from storage.projections.party_health import (
    DEFAULT_HALF_LIFE,
    PartyHealth,
    PartyHealthProjection,
    decay_factor,
    health_score,
)
from storage.projections.port import (
    POSTGRESQL,
    SQLITE,
    as_datetime,
    check_identifier,
    format_timestamp,
)
from storage.projections.sqlite import to_sqlite_sql


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/p.sqlite3", "data/p.sqlite3"),
        ("sqlite:////var/lib/p.sqlite3", "/var/lib/p.sqlite3"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize("url", ["sqlite://host/p", "sqlite:///p?x=1", "sqlite:///"])
def test_bad_sqlite_urls(url: str) -> None:
    with pytest.raises(UnsupportedProjectionDbUrl):
        sqlite_path(url)


def test_postgres_urls() -> None:
    assert postgres_dsn("postgresql://u:pw@h:5432/db?schema=proj&sslmode=disable") == (
        "postgresql://u:pw@h:5432/db?sslmode=disable",
        "proj",
    )
    assert postgres_dsn("postgresql:///db") == ("postgresql:///db", "projections")
    with pytest.raises(UnsupportedProjectionDbUrl, match="more than once"):
        postgres_dsn("postgresql://h/db?schema=a&schema=b")
    assert redact_url("postgresql://u:pw@h:5432/db?schema=p&password=x") == (
        "postgresql://u@h:5432/db?schema=p"
    )


async def test_unknown_scheme() -> None:
    with pytest.raises(UnsupportedProjectionDbUrl, match="unknown scheme"):
        await open_projection_db("mysql://u:secret@h/db")
    with pytest.raises(UnsupportedProjectionDbUrl) as caught:
        await open_projection_db("mysql://u:secret@h/db")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("name", ["", "A", "1abc", "a-b", 'x"; drop', "pg_x", "a" * 64])
def test_identifiers_are_checked(name: str) -> None:
    with pytest.raises(InvalidIdentifier):
        check_identifier("schema", name)


def test_sql_rewrite_and_dialects() -> None:
    assert to_sqlite_sql("SELECT $1, $2 WHERE a = $10 AND b = $1") == (
        "SELECT ?1, ?2 WHERE a = ?10 AND b = ?1"
    )
    assert SQLITE.ddl("x {timestamp}") == "x TEXT"
    assert POSTGRESQL.ddl("x {timestamp}") == "x TIMESTAMPTZ"
    assert (SQLITE.limit(None), POSTGRESQL.limit(None), SQLITE.limit(3)) == (-1, None, 3)
    with pytest.raises(ValueError, match="limit"):
        SQLITE.limit(-1)


def test_timestamps_are_fixed_width_utc() -> None:
    plus_two = datetime(2025, 6, 1, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(plus_two) == "2025-06-01T14:00:00.000000+00:00"
    assert as_datetime("2025-06-01T14:00:00.000000+00:00") == plus_two
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2025, 1, 1))
    # Text order is time order, which the SQLite range queries rely on.
    instants = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(microseconds=n) for n in range(3)]
    assert sorted(format_timestamp(i) for i in reversed(instants)) == [
        format_timestamp(i) for i in instants
    ]


def test_health_formula() -> None:
    assert health_score(0, 0, 0) == 1.0
    assert health_score(0, 1, 0) == 0.5
    assert math.isclose(health_score(9, 1, 0), 10 / 11)
    assert health_score(0, 0, 1) == 0.5
    assert health_score(0, 0, 2) == 0.25
    assert 0.0 <= health_score(0, 1e9, 100) <= 1.0
    assert decay_factor(DEFAULT_HALF_LIFE, DEFAULT_HALF_LIFE) == 0.5
    assert decay_factor(-DEFAULT_HALF_LIFE, DEFAULT_HALF_LIFE) == 1.0
    at = datetime(2025, 1, 1, tzinfo=UTC)
    health = PartyHealth(
        party_id="p",
        ceremonies_started=2,
        ceremonies_completed=1,
        ceremonies_failed=1,
        ceremonies_blamed=1,
        misbehaviour_count=0,
        decayed_successes=1.0,
        decayed_failures=1.0,
        decayed_misbehaviours=0.0,
        decayed_at=at,
        health_score=health_score(1.0, 1.0, 0.0),
        last_failure_reason="timeout",
        last_failure_at=at,
        last_failure_ceremony="c",
    )
    assert health.score_at(at) == health.health_score == 2 / 3
    assert health.score_at(at + DEFAULT_HALF_LIFE) == (0.5 + 1) / (0.5 + 0.5 + 1)
    with pytest.raises(ValueError, match="half_life"):
        PartyHealthProjection(timedelta(0))


async def test_runner_refuses_bad_configuration() -> None:
    async with await open_projection_db("sqlite:///:memory:") as db:
        store = None
        with pytest.raises(ValueError, match="batch_size"):
            ProjectionRunner(store, db, default_projections(), batch_size=0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            ProjectionRunner(store, db, [])  # type: ignore[arg-type]
        with pytest.raises(DuplicateProjection):
            ProjectionRunner(store, db, default_projections() * 2)  # type: ignore[arg-type]
