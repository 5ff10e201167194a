"""Offline verification of a real database: intact stores pass, every tampering is named.

Each tampering test builds a store of domain events, tampers with it as a superuser would
(triggers bypassed), then checks the verifier names the first bad event's position and the
kind of tampering, with batches small enough that the damage straddles batch boundaries.
"""

from __future__ import annotations

import pytest

from storage.audit.manifest import ExportManifest
from storage.audit.verify import AuditError, Problem, VerifyMode, verify_store, verify_url
from storage.events.errors import ChainBroken
from storage.events.port import StoredEvent, open_event_store, verify_chain
from tests.storage.audit.support import EVENT_COUNT, Backend, SQLiteBackend

BATCH_SIZES = [1, 4, 1000]


async def test_intact_store_verifies(backend: Backend) -> None:
    stored = await backend.build()
    report = await verify_url(backend.url, batch_size=4)
    assert report.ok, report.summary()
    assert report.mode is VerifyMode.LOG
    assert report.events == EVENT_COUNT
    assert (report.first_position, report.last_position) == (1, EVENT_COUNT)
    assert report.last_hash == stored[-1].hash
    assert report.summary().startswith("OK: ")


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
async def test_edited_payload_is_named(backend: Backend, batch_size: int) -> None:
    await backend.build()
    await backend.edit_payload(8, signature="ff" * 64)
    report = await verify_url(backend.url, batch_size=batch_size)
    assert report.finding is not None
    assert report.finding.problem is Problem.HASH_MISMATCH
    assert report.finding.position == 8
    assert report.events == 7  # Everything before it verified.
    assert "position 8" in report.summary()
    assert report.summary().startswith("TAMPERED")


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
async def test_deleted_row_is_named(backend: Backend, batch_size: int) -> None:
    await backend.build()
    await backend.delete(6)
    report = await verify_url(backend.url, batch_size=batch_size)
    assert report.finding is not None
    assert report.finding.problem is Problem.MISSING
    assert report.finding.position == 6
    assert "next event present is position 7" in report.finding.reason


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
async def test_reordered_pair_is_named(backend: Backend, batch_size: int) -> None:
    await backend.build()
    # 4 and 5 straddle a batch boundary at batch sizes 1 and 4.
    await backend.swap(4, 5)
    report = await verify_url(backend.url, batch_size=batch_size)
    assert report.finding is not None
    assert report.finding.problem is Problem.REORDERED
    assert report.finding.position == 4
    assert "positions 4 and 5" in report.finding.reason


async def test_deleted_first_row_is_named(sqlite_backend: SQLiteBackend) -> None:
    await sqlite_backend.build()
    await sqlite_backend.delete(1)
    report = await verify_url(sqlite_backend.url)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.MISSING, 1)


async def test_several_deleted_rows_are_named_as_a_range(sqlite_backend: SQLiteBackend) -> None:
    await sqlite_backend.build()
    for position in (9, 10, 11):
        await sqlite_backend.delete(position)
    report = await verify_url(sqlite_backend.url, batch_size=3)
    assert report.finding is not None
    assert report.finding.problem is Problem.MISSING
    assert report.finding.position == 9
    assert "positions 9-11 are missing" in report.finding.reason


async def test_undecodable_row_is_named_after_its_predecessor(
    sqlite_backend: SQLiteBackend,
) -> None:
    await sqlite_backend.build()
    counts = await sqlite_backend.tamper(
        [("UPDATE events SET payload = $1 WHERE position = $2", ("{not json", 5))]
    )
    assert counts == [1]
    report = await verify_url(sqlite_backend.url, batch_size=4)
    assert report.finding is not None
    assert report.finding.problem is Problem.MALFORMED
    assert "after position 4" in report.finding.reason
    assert report.events == 4


async def test_agrees_with_the_ports_verify_chain(backend: Backend) -> None:
    """The port's verify_chain over the whole log fails at the very position named here."""
    await backend.build()
    await backend.edit_payload(11, reason="nothing happened")
    report = await verify_url(backend.url, batch_size=5)
    async with await open_event_store(backend.url) as store:
        with pytest.raises(ChainBroken) as broken:
            verify_chain(await store.read_all())
    assert report.finding is not None
    assert report.finding.position == broken.value.position == 11


async def test_the_index_catches_a_deleted_tail(backend: Backend) -> None:
    """Removing the newest events leaves a valid chain, but the index still records them."""
    await backend.build()
    await backend.delete(EVENT_COUNT)
    report = await verify_url(backend.url)
    assert report.finding is not None
    assert (report.finding.problem, report.finding.position) == (Problem.MISSING, EVENT_COUNT)
    assert f"records events up to position {EVENT_COUNT}" in report.finding.reason


async def test_checkpoint_catches_a_deleted_tail(sqlite_backend: SQLiteBackend) -> None:
    """Removing the newest events and their index entries leaves a valid chain and index;
    an earlier export's manifest shows it."""
    stored = await sqlite_backend.build()
    manifest = ExportManifest(
        file="earlier.jsonl",
        scope="all",
        source=sqlite_backend.url,
        exported_at=stored[-1].recorded_at,
        count=len(stored),
        first_position=1,
        last_position=stored[-1].position,
        first_prev_hash=stored[0].prev_hash,
        last_hash=stored[-1].hash,
        sha256="00" * 32,
    )
    assert (await verify_url(sqlite_backend.url, manifest=manifest)).ok
    await sqlite_backend.delete_with_index(EVENT_COUNT)
    alone = await verify_url(sqlite_backend.url)
    assert alone.ok  # The store alone cannot show it; the report says so.
    assert any("very end" in note for note in alone.notes)
    report = await verify_url(sqlite_backend.url, manifest=manifest)
    assert report.finding is not None
    assert report.finding.problem is Problem.TRUNCATED
    assert report.finding.position == EVENT_COUNT


async def test_missing_sqlite_file_is_an_error_not_an_empty_pass(tmp_path: object) -> None:
    with pytest.raises(AuditError, match="no event store"):
        await verify_url(f"sqlite:///{tmp_path}/nothing-here.sqlite3")


async def test_streams_in_batches(
    sqlite_backend: SQLiteBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never one read for the whole store: every read asks for at most ``batch_size`` rows."""
    await sqlite_backend.build(repeat=20)  # 300 events
    async with await open_event_store(sqlite_backend.url) as store:
        limits: list[int | None] = []
        read_all = store.read_all

        async def spy(after_position: int = 0, limit: int | None = None) -> list[StoredEvent]:
            limits.append(limit)
            return await read_all(after_position, limit)

        monkeypatch.setattr(store, "read_all", spy)
        report = await verify_store(store, batch_size=32)
    assert report.ok, report.summary()
    assert report.events == 20 * EVENT_COUNT
    assert limits == [32] * (20 * EVENT_COUNT // 32 + 1)


async def test_rejects_a_zero_batch(sqlite_backend: SQLiteBackend) -> None:
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        with pytest.raises(ValueError, match="batch_size"):
            await verify_store(store, batch_size=0)
