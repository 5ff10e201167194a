"""The event index is checked against the events (issue 11).

Appends read the chain's head and the streams' versions from ``event_index``, so an index
that disagrees with the events forks the chain on the next append, or hides what was done to
the events. Each tampering below bypasses the append-only triggers, as a superuser could.
"""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from quorate.audit_cli import EXIT_TAMPERED, audit_app
from storage.audit.findings import Problem
from storage.audit.verify import verify_url
from storage.events.port import IndexEntry, open_event_store, open_event_store_read_only
from tests.storage.audit.support import EVENT_COUNT, Backend, SQLiteBackend

BATCH_SIZES = [1, 4, 1000]


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
async def test_a_tampered_index_hash_is_named(backend: Backend, batch_size: int) -> None:
    await backend.build()
    counts = await backend.tamper(
        [("UPDATE event_index SET hash = $1 WHERE position = $2", ("ab" * 32, 7))]
    )
    assert counts == [1]
    report = await verify_url(backend.url, batch_size=batch_size)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.INDEX_MISMATCH, 7)
    assert "the event index says hash 'abab" in report.finding.reason
    assert report.events == 6


async def test_a_tampered_index_stream_version_is_named(backend: Backend) -> None:
    """The next append to that stream would take a version already used."""
    await backend.build()
    await backend.tamper(
        [("UPDATE event_index SET stream_version = $1 WHERE position = $2", (9, 4))]
    )
    report = await verify_url(backend.url)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.INDEX_MISMATCH, 4)
    assert "stream_version 9" in report.finding.reason


async def test_a_missing_index_row_is_named(backend: Backend) -> None:
    await backend.build()
    assert await backend.tamper([("DELETE FROM event_index WHERE position = $1", (11,))]) == [1]
    report = await verify_url(backend.url, batch_size=4)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.INDEX_MISMATCH, 11)
    assert "no entry for this event" in report.finding.reason


async def test_a_missing_index_row_at_the_head_is_named(backend: Backend) -> None:
    """The next append would reuse the head's position: the chain would fork."""
    await backend.build()
    await backend.tamper([("DELETE FROM event_index WHERE position = $1", (EVENT_COUNT,))])
    report = await verify_url(backend.url)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (
        Problem.INDEX_MISMATCH,
        EVENT_COUNT,
    )


async def test_index_entries_beyond_the_events_are_named(sqlite_backend: SQLiteBackend) -> None:
    """Events deleted from the end of the events table show as index entries past it."""
    await sqlite_backend.build()
    for position in (EVENT_COUNT, EVENT_COUNT - 1):
        await sqlite_backend.delete(position)
    report = await verify_url(sqlite_backend.url)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (
        Problem.MISSING,
        EVENT_COUNT - 1,
    )
    assert "events deleted from the end" in report.finding.reason


def test_the_cli_names_a_tampered_index(sqlite_backend: SQLiteBackend) -> None:
    asyncio.run(sqlite_backend.build())
    asyncio.run(
        sqlite_backend.tamper(
            [("UPDATE event_index SET idempotency_key = $1 WHERE position = $2", ("stolen", 5))]
        )
    )
    result = CliRunner().invoke(audit_app, ["verify", "--url", sqlite_backend.url])
    assert result.exit_code == EXIT_TAMPERED
    assert "position 5: index-mismatch: the event index says idempotency_key 'stolen'" in (
        result.stdout
    )


async def test_read_index_returns_the_entries_asked_for(backend: Backend) -> None:
    stored = await backend.build()
    for opener in (open_event_store, open_event_store_read_only):
        async with await opener(backend.url) as store:
            entries = await store.read_index([9, 2, 2, 400, 15])
            assert entries == [IndexEntry.of(stored[p - 1]) for p in (2, 9, 15)]
            assert await store.read_index([]) == []
