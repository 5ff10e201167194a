"""Temporal queries: every signature of a wallet between two instants, a wallet as of an
instant; by a fold over the store and through the projections' audit view, which agree.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage.audit.errors import AuditError
from storage.audit.queries import fold_signatures_between, fold_wallet_state_as_of
from storage.audit.service import (
    rebuild_projections,
    signatures_between,
    wallet_state_as_of,
)
from storage.events.models import CeremonyStarted, ceremony_stream, to_new_event
from storage.events.port import open_event_store
from storage.projections import ProjectionRunner, default_projections, open_projection_db
from tests.storage.audit.support import (
    EVENT_COUNT,
    PARTIES,
    T0,
    W1_SIGNATURE_POSITIONS,
    W2_SIGNATURE_POSITIONS,
    Backend,
    SQLiteBackend,
    recorded_at,
    ticking_clock,
)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (None, None, W1_SIGNATURE_POSITIONS),
        (4, 13, [4, 8]),  # until is exclusive
        (4, 14, [4, 8, 13]),
        (5, None, [8, 13]),  # since is inclusive, and 4 is before it
        (None, 8, [4]),
        (9, 13, []),
    ],
)
async def test_signatures_between_two_instants(
    backend: Backend, since: int | None, until: int | None, expected: list[int]
) -> None:
    await backend.build()
    start = recorded_at(since) if since is not None else None
    end = recorded_at(until) if until is not None else None
    async with await open_event_store(backend.url) as store:
        found = await fold_signatures_between(store, "w1", start, end, batch_size=3)
    assert [record.position for record in found] == expected
    for record in found:
        assert record.recorded_at == recorded_at(record.position)
        assert record.wallet_id == "w1"
        assert record.protocol == "frost"
        assert len(record.signers) == 3
        assert set(record.signers) <= set(PARTIES)


async def test_signature_whose_ceremony_started_before_the_range_has_its_protocol(
    sqlite_backend: SQLiteBackend,
) -> None:
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        # c3 started at position 7 and signed at 8: the range starts between the two.
        found = await fold_signatures_between(store, "w1", recorded_at(8), None)
    assert [(record.ceremony_id, record.protocol) for record in found] == [
        ("c3", "frost"),
        ("c5", "frost"),
    ]


async def test_other_wallets_signatures_are_not_included(sqlite_backend: SQLiteBackend) -> None:
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        w2 = await fold_signatures_between(store, "w2")
        nobody = await fold_signatures_between(store, "w3")
    assert [record.position for record in w2] == W2_SIGNATURE_POSITIONS
    assert nobody == []


async def test_wallet_state_as_of(backend: Backend) -> None:
    await backend.build()
    async with await open_event_store(backend.url) as store:
        before = await fold_wallet_state_as_of(store, "w1", T0 - timedelta(seconds=1))
        created = await fold_wallet_state_as_of(store, "w1", recorded_at(1))
        middle = await fold_wallet_state_as_of(store, "w1", recorded_at(11))
        end = await fold_wallet_state_as_of(store, "w1", recorded_at(EVENT_COUNT))
    assert not before.exists
    assert before.signature_count == 0
    assert created.exists
    assert (created.threshold, created.parties, created.signature_count) == (3, PARTIES, 0)
    assert created.created_at == T0
    assert middle.signature_count == 2  # positions 4 and 8
    assert middle.last_signed_at == recorded_at(8)
    assert (middle.ceremonies_started, middle.ceremonies_failed) == (3, 1)
    assert middle.misbehaviours == {"eu-1": 1}
    assert middle.last_position == 11
    assert end.signature_count == 3
    assert end.last_position == 13  # w1's last event; 14-15 are w2's


async def test_naive_instants_are_refused(sqlite_backend: SQLiteBackend) -> None:
    await sqlite_backend.build()
    async with await open_event_store(sqlite_backend.url) as store:
        with pytest.raises(AuditError, match="timezone"):
            await fold_wallet_state_as_of(store, "w1", T0.replace(tzinfo=None))


# -- through the projections' audit view ----------------------------------------------------


async def _project(events_url: str, projections_url: str) -> None:
    async with (
        await open_event_store(events_url) as store,
        await open_projection_db(projections_url) as db,
    ):
        await ProjectionRunner(store, db, default_projections()).run_until()


async def test_audit_view_and_fold_agree(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    await sqlite_backend.build()
    view_url = f"sqlite:///{tmp_path / 'projections.sqlite3'}"
    await _project(sqlite_backend.url, view_url)
    for since, until in [(None, None), (4, 13), (5, None), (9, 13)]:
        start = recorded_at(since) if since else None
        end = recorded_at(until) if until else None
        viewed = await signatures_between(
            sqlite_backend.url, "w1", start, end, projections_url=view_url
        )
        folded = await signatures_between(
            sqlite_backend.url, "w1", start, end, projections_url=view_url, source="events"
        )
        assert (viewed.source, folded.source) == ("projection", "events")
        assert viewed.rows == folded.rows
    for instant in (T0 - timedelta(seconds=1), recorded_at(1), recorded_at(11)):
        state = await wallet_state_as_of(
            sqlite_backend.url, "w1", instant, projections_url=view_url
        )
        fold = await wallet_state_as_of(
            sqlite_backend.url, "w1", instant, projections_url=view_url, source="events"
        )
        assert state.source == "projection"
        shared = [key for key, value in state.rows[0].items() if value is not None]
        assert {key: state.rows[0][key] for key in shared} == {
            key: fold.rows[0][key] for key in shared
        }


async def test_stale_audit_view_is_not_trusted(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    view_url = f"sqlite:///{tmp_path / 'projections.sqlite3'}"
    await _project(sqlite_backend.url, view_url)
    later = recorded_at(EVENT_COUNT) + timedelta(minutes=1)
    async with await open_event_store(sqlite_backend.url, clock=ticking_clock(later)) as store:
        await store.append(
            to_new_event(
                CeremonyStarted(
                    ceremony_id="c7", wallet_id="w1", kind="sign", protocol="frost", parties=PARTIES
                ),
                stream_id=ceremony_stream("c7"),
                idempotency_key="c7/started",
            )
        )
    result = await signatures_between(
        sqlite_backend.url, "w1", None, None, projections_url=view_url
    )
    assert result.source == "events"
    assert any("position 15, the store at 16" in note for note in result.notes)
    forced = await signatures_between(
        sqlite_backend.url, "w1", None, None, projections_url=view_url, source="projection"
    )
    assert forced.source == "projection"
    assert any("may be incomplete" in note for note in forced.notes)


async def test_missing_projection_database(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    await sqlite_backend.build()
    absent = f"sqlite:///{tmp_path / 'absent.sqlite3'}"
    result = await signatures_between(sqlite_backend.url, "w1", None, None, projections_url=absent)
    assert result.source == "events"
    assert not (tmp_path / "absent.sqlite3").exists()  # a query must not create it
    with pytest.raises(AuditError, match="no projection database"):
        await signatures_between(
            sqlite_backend.url, "w1", None, None, projections_url=absent, source="projection"
        )


async def test_rebuild_projections(sqlite_backend: SQLiteBackend, tmp_path: Path) -> None:
    await sqlite_backend.build()
    view_url = f"sqlite:///{tmp_path / 'projections.sqlite3'}"
    reached = await rebuild_projections(sqlite_backend.url, view_url, ["audit"])
    assert reached == {"audit": EVENT_COUNT}
    everything = await rebuild_projections(sqlite_backend.url, view_url, None)
    assert set(everything) == {projection.name for projection in default_projections()}
    result = await signatures_between(
        sqlite_backend.url, "w1", None, None, projections_url=view_url
    )
    assert result.source == "projection"
    assert [row["position"] for row in result.rows] == W1_SIGNATURE_POSITIONS
    with pytest.raises(AuditError, match="unknown projection"):
        await rebuild_projections(sqlite_backend.url, view_url, ["nope"])
