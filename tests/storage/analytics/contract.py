"""The analytics-sink contract: one test suite that every AnalyticsSink adapter runs.

As in ``tests/storage/events/contract.py``, :class:`AnalyticsSinkContract` is not collected
itself (its name does not start with ``Test``); each adapter's module subclasses it and
implements :meth:`AnalyticsSinkContract.open_sink`. Every test gets a fresh database on the
adapter's ClickHouse and real events from a fresh SQLite event store.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from storage.analytics.errors import (
    AnalyticsQueryFailed,
    AnalyticsSinkClosed,
    InvalidAnalyticsQuery,
)
from storage.analytics.port import AnalyticsSink, Checkpoint, visible_condition
from storage.analytics.projector import AnalyticsProjector
from storage.analytics.queries import (
    event_counts,
    failed_ceremonies_by_reason,
    parties_by_misbehaviour,
    signatures_per_wallet_per_day,
    signer_set_frequency,
)
from storage.analytics.rows import EventRow
from storage.analytics.sql import Identifier
from storage.events.errors import ChainBroken
from storage.events.models import CeremonyFailed, parse_event
from storage.events.port import (
    EventStore,
    NewEvent,
    StoredEvent,
    canonical_json,
    event_hash,
    open_event_store,
)
from tests.storage.analytics.scenario import (
    AWKWARD_WALLET,
    SteppingClock,
    append_all,
    expected_counts,
    expected_failures,
    expected_misbehaviour,
    expected_signatures_per_day,
    expected_signer_sets,
    scenario,
    tamper_hash,
    tamper_payload,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


NASTY_STRINGS = (
    "",
    "'",
    "\\",
    "\\'",
    "' OR 1 = 1 --",
    "\n\r\t",
    "\x00\x01\x1f\x7f",
    "\\x41",
    "ü✓😀",
    "{x} %s `",
)
"""Strings a literal must carry exactly: quotes, escapes, controls, non-ASCII, brackets."""


class SimulatedCrashError(Exception):
    """Raised in place of a checkpoint write: the process 'died' after the inserts."""


async def snapshot(sink: AnalyticsSink, events: list[StoredEvent]) -> dict[str, Any]:
    """Everything a reader can see, through every query and both tables."""
    since, until = events[0].recorded_at, events[-1].recorded_at + timedelta(seconds=1)
    return {
        "counts": await event_counts(sink),
        "per_day": await signatures_per_wallet_per_day(sink),
        "signer_sets": await signer_set_frequency(sink),
        "misbehaviour": await parties_by_misbehaviour(sink),
        "failures": await failed_ceremonies_by_reason(sink, since=since, until=until),
        "events": await sink.select(
            "SELECT position, stream_id, stream_version, event_type, schema_version,"
            " recorded_at_us, wallet_id, ceremony_id, party, parties, reason, payload,"
            " metadata, hash FROM {db}.events FINAL"
            " WHERE {visible} ORDER BY position",
            {"visible": visible_condition(sink.database)},
        ),
        "signatures": await sink.select(
            "SELECT position, ceremony_id, wallet_id, scheme, signers, recorded_at_us,"
            " toString(day) AS utc_day FROM {db}.signatures FINAL"
            " WHERE {visible} ORDER BY position",
            {"visible": visible_condition(sink.database)},
        ),
    }


async def physical_rows(sink: AnalyticsSink, table: str = "events") -> int:
    """Rows stored right now, duplicates waiting for a merge included (no FINAL)."""
    rows = await sink.select("SELECT count() AS n FROM {db}.{t}", {"t": Identifier(table)})
    return int(rows[0]["n"])


def assert_matches_events(result: dict[str, Any], events: list[StoredEvent]) -> None:
    """The queries in ``result`` give exactly the answers computed from ``events``."""
    since, until = events[0].recorded_at, events[-1].recorded_at + timedelta(seconds=1)
    assert result["counts"] == expected_counts(events)
    assert result["per_day"] == expected_signatures_per_day(events)
    assert result["signer_sets"] == expected_signer_sets(events)
    assert result["misbehaviour"] == expected_misbehaviour(events)
    assert result["failures"] == expected_failures(events, since, until)
    assert [int(row["position"]) for row in result["events"]] == [e.position for e in events]


class AnalyticsSinkContract(ABC):
    """Behaviour every analytics sink must have; subclasses provide :meth:`open_sink`."""

    @abstractmethod
    async def open_sink(self, database: str) -> AnalyticsSink:
        """Open the adapter on a fresh database named ``database``."""

    @pytest.fixture
    async def sink(self) -> AsyncIterator[AnalyticsSink]:
        opened = await self.open_sink(f"qa_{uuid4().hex[:20]}")
        try:
            yield opened
        finally:
            if not opened.closed:
                await opened.drop_database()
                await opened.close()

    @pytest.fixture
    def store_path(self, tmp_path: Path) -> Path:
        return tmp_path / "events.sqlite3"

    @pytest.fixture
    async def store(self, store_path: Path) -> AsyncIterator[EventStore]:
        opened = await open_event_store(f"sqlite:///{store_path}", clock=SteppingClock())
        try:
            yield opened
        finally:
            await opened.close()

    # -- schema and plumbing ---------------------------------------------------------------

    async def test_schema_creation_is_idempotent(self, sink: AnalyticsSink) -> None:
        await sink.ensure_schema()
        await sink.ensure_schema()
        for table in ("events", "signatures", "checkpoint"):
            assert await physical_rows(sink, table) == 0
        assert await sink.read_checkpoint() is None
        assert await event_counts(sink) == {}

    async def test_checkpoint_never_moves_backwards(self, sink: AnalyticsSink) -> None:
        ahead = Checkpoint(projection="analytics", position=5, hash="aa" * 32)
        behind = Checkpoint(projection="analytics", position=3, hash="bb" * 32)
        await sink.write_checkpoint(ahead)
        await sink.write_checkpoint(behind)
        await sink.write_checkpoint(ahead)
        assert await sink.read_checkpoint() == ahead
        assert await sink.read_checkpoint("another") is None

    async def test_failed_statement_raises_typed_error(self, sink: AnalyticsSink) -> None:
        with pytest.raises(AnalyticsQueryFailed, match="no_such_function"):
            await sink.select("SELECT no_such_function_anywhere() AS x")

    @pytest.mark.parametrize("text", NASTY_STRINGS)
    async def test_bound_strings_read_back_unchanged(self, sink: AnalyticsSink, text: str) -> None:
        assert await sink.select("SELECT {s} AS s", {"s": text}) == [{"s": text}]

    async def test_a_large_batch_is_one_insert(self, sink: AnalyticsSink) -> None:
        # About 3 MB: well past max_query_size (256 KiB), which must not apply to the data.
        at = datetime(2025, 1, 1, tzinfo=UTC)
        rows = [
            EventRow(
                position=position,
                stream_id="s",
                stream_version=position,
                event_type="Bulk",
                schema_version=1,
                recorded_at=at,
                payload=canonical_json({"pad": "x" * 1000}),
                metadata="{}",
                hash="ab" * 32,
            ).to_json_row()
            for position in range(1, 3001)
        ]
        await sink.insert_rows("events", rows)
        assert await physical_rows(sink) == 3000

    async def test_closed_sink_refuses_work(self, sink: AnalyticsSink) -> None:
        await sink.drop_database()
        await sink.close()
        await sink.close()  # idempotent
        with pytest.raises(AnalyticsSinkClosed):
            await event_counts(sink)

    # -- projection ------------------------------------------------------------------------

    async def test_catch_up_projects_every_event_once(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        events = await append_all(store, scenario())
        result = await AnalyticsProjector(store, sink).catch_up(batch_size=4)
        assert result.applied == len(events)
        assert result.batches == -(-len(events) // 4)
        assert result.position == events[-1].position
        assert await sink.read_checkpoint() == Checkpoint(
            projection="analytics", position=events[-1].position, hash=events[-1].hash
        )
        assert_matches_events(await snapshot(sink, events), events)
        again = await AnalyticsProjector(store, sink).catch_up(batch_size=4)
        assert (again.applied, again.batches, again.position) == (0, 0, events[-1].position)

    async def test_rows_carry_the_event_faithfully(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        events = await append_all(store, scenario(rounds=2))
        await AnalyticsProjector(store, sink).catch_up()
        rows = (await snapshot(sink, events))["events"]
        for row, stored in zip(rows, events, strict=True):
            assert row["hash"] == stored.hash
            assert row["stream_id"] == stored.stream_id
            assert int(row["stream_version"]) == stored.stream_version
            assert row["payload"] == canonical_json(stored.payload)
            assert json.loads(row["metadata"]) == stored.metadata
            assert int(row["recorded_at_us"]) == (stored.recorded_at - EPOCH) // MICROSECOND
            assert row["wallet_id"] == stored.payload["wallet_id"]

    async def test_incremental_catch_up_equals_rebuild(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        batch = scenario()
        projector = AnalyticsProjector(store, sink)
        half = len(batch) // 2
        first = await append_all(store, batch[:half])
        assert (await projector.catch_up(batch_size=3)).applied == len(first)
        assert_matches_events(await snapshot(sink, first), first)
        rest = await append_all(store, batch[half:])
        assert (await projector.catch_up(batch_size=5)).applied == len(rest)
        events = first + rest
        incremental = await snapshot(sink, events)
        assert_matches_events(incremental, events)

        rebuilt = await projector.rebuild(batch_size=7)
        assert rebuilt.applied == len(events)
        assert await snapshot(sink, events) == incremental

    async def test_crash_between_insert_and_checkpoint_leaves_no_duplicates(
        self, sink: AnalyticsSink, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        events = await append_all(store, scenario())
        write_checkpoint = sink.write_checkpoint
        written: list[Checkpoint] = []

        async def crash_on_second(checkpoint: Checkpoint) -> None:
            if written:
                raise SimulatedCrashError(checkpoint.position)
            written.append(checkpoint)
            await write_checkpoint(checkpoint)

        monkeypatch.setattr(sink, "write_checkpoint", crash_on_second)
        with pytest.raises(SimulatedCrashError):
            await AnalyticsProjector(store, sink).catch_up(batch_size=10)
        monkeypatch.undo()

        # The second batch's rows are stored but, without their checkpoint, invisible.
        assert await physical_rows(sink) == 20
        assert await event_counts(sink) == expected_counts(events[:10])
        assert_matches_events(await snapshot(sink, events[:10]), events[:10])

        # The restarted projector re-applies the second batch from the checkpoint.
        resumed = await AnalyticsProjector(store, sink).catch_up(batch_size=10)
        assert resumed.applied == len(events) - 10
        assert await physical_rows(sink) > len(events)  # the copies still await a merge...
        result = await snapshot(sink, events)
        assert_matches_events(result, events)  # ...but no reader sees them

        await sink.optimize()
        assert await physical_rows(sink) == len(events)
        assert await snapshot(sink, events) == result
        rebuilt = await AnalyticsProjector(store, sink).rebuild(batch_size=6)
        assert rebuilt.applied == len(events)
        assert await snapshot(sink, events) == result

    async def test_reinserting_a_batch_is_idempotent(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        events = await append_all(store, scenario(rounds=3))
        projector = AnalyticsProjector(store, sink)
        for _ in range(3):
            await projector.apply(events, previous=None)
        assert await physical_rows(sink) == 3 * len(events)
        result = await snapshot(sink, events)
        assert_matches_events(result, events)
        await sink.optimize()
        assert await physical_rows(sink) == len(events)
        signatures = sum(1 for e in events if e.event_type == "SignatureProduced")
        assert await physical_rows(sink, "signatures") == signatures
        assert await physical_rows(sink, "checkpoint") == 1
        assert await snapshot(sink, events) == result

    async def test_unknown_event_types_are_still_recorded(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        events = await append_all(store, scenario(rounds=1))
        extra = await store.append(
            NewEvent(
                stream_id="pool-us-1",
                event_type="NoncePoolRefilled",
                payload={"wallet_id": "w1", "party": "us-1", "count": 64},
                idempotency_key="refill-1",
            )
        )
        await AnalyticsProjector(store, sink).catch_up()
        counts = await event_counts(sink)
        assert counts["NoncePoolRefilled"] == 1
        rows = await sink.select(
            "SELECT wallet_id, party, payload FROM {db}.events FINAL WHERE position = {p}",
            {"p": extra.position},
        )
        assert rows == [
            {"wallet_id": "w1", "party": "us-1", "payload": canonical_json(extra.payload)}
        ]
        assert sum(counts.values()) == len(events) + 1

    # -- the chain -------------------------------------------------------------------------

    async def test_tampered_event_stops_the_projection(
        self, sink: AnalyticsSink, store: EventStore, store_path: Path
    ) -> None:
        events = await append_all(store, scenario())
        tamper_payload(store_path, 13, canonical_json({**events[12].payload, "x": 1}))
        with pytest.raises(ChainBroken) as caught:
            await AnalyticsProjector(store, sink).catch_up(batch_size=5)
        assert caught.value.position == 13
        checkpoint = await sink.read_checkpoint()
        assert checkpoint is not None
        assert checkpoint.position == 10
        assert_matches_events(await snapshot(sink, events[:10]), events[:10])

    async def test_rewritten_projected_event_is_detected(
        self, sink: AnalyticsSink, store: EventStore, store_path: Path
    ) -> None:
        events = await append_all(store, scenario(rounds=2))
        await AnalyticsProjector(store, sink).catch_up(batch_size=4)
        last = events[-1]
        # Rewritten without fixing the hash: the event no longer matches its own hash.
        tamper_payload(store_path, last.position, canonical_json({**last.payload, "x": 1}))
        with pytest.raises(ChainBroken, match="content") as caught:
            await AnalyticsProjector(store, sink).catch_up()
        assert caught.value.position == last.position
        # Rewritten with a recomputed hash: it no longer matches the checkpoint's hash.
        (tampered,) = await store.read_all(after_position=last.position - 1, limit=1)
        tamper_hash(store_path, last.position, event_hash(tampered))
        with pytest.raises(ChainBroken, match="store now holds") as caught:
            await AnalyticsProjector(store, sink).catch_up()
        assert caught.value.position == last.position
        # A rebuild re-verifies the whole chain from the genesis hash.
        tamper_payload(store_path, 2, canonical_json({**events[1].payload, "x": 1}))
        with pytest.raises(ChainBroken) as caught:
            await AnalyticsProjector(store, sink).rebuild()
        assert caught.value.position == 2

    # -- queries ---------------------------------------------------------------------------

    async def test_queries_filter_by_wallet_with_awkward_ids(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        events = await append_all(store, scenario())
        await AnalyticsProjector(store, sink).catch_up()
        for wallet in ("w1", AWKWARD_WALLET, "no-such-wallet"):
            assert await signatures_per_wallet_per_day(
                sink, wallet_id=wallet
            ) == expected_signatures_per_day(events, wallet)
            assert await signer_set_frequency(sink, wallet_id=wallet) == expected_signer_sets(
                events, wallet
            )
        assert await signatures_per_wallet_per_day(sink, wallet_id=AWKWARD_WALLET)

    async def test_time_windows_are_half_open_and_exact(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        events = await append_all(store, scenario())
        await AnalyticsProjector(store, sink).catch_up()
        failures = [e for e in events if isinstance(parse_event(e), CeremonyFailed)]
        assert len(failures) >= 4
        since, until = failures[1].recorded_at, failures[-1].recorded_at
        expected = expected_failures(events, since, until)
        assert sum(reason.failures for reason in expected) == len(failures) - 2
        assert await failed_ceremonies_by_reason(sink, since=since, until=until) == expected
        # One microsecond either way moves each boundary event in or out.
        tick = timedelta(microseconds=1)
        for start, end in ((since + tick, until + tick), (since - tick, until - tick)):
            assert await failed_ceremonies_by_reason(
                sink, since=start, until=end
            ) == expected_failures(events, start, end)
        assert await parties_by_misbehaviour(
            sink, since=since, until=until
        ) == expected_misbehaviour(events, since, until)
        top = await parties_by_misbehaviour(sink, limit=1)
        assert top == expected_misbehaviour(events)[:1]

    async def test_query_arguments_are_validated(
        self, sink: AnalyticsSink, store: EventStore
    ) -> None:
        now = datetime(2025, 1, 1, 12, 0)  # naive on purpose
        with pytest.raises(InvalidAnalyticsQuery, match="timezone-aware"):
            await signatures_per_wallet_per_day(sink, since=now)
        aware = datetime.fromisoformat("2025-01-01T12:00:00+02:00")
        with pytest.raises(InvalidAnalyticsQuery, match="before"):
            await failed_ceremonies_by_reason(sink, since=aware, until=aware)
        with pytest.raises(InvalidAnalyticsQuery, match="limit"):
            await parties_by_misbehaviour(sink, limit=0)
        projector = AnalyticsProjector(store, sink)
        with pytest.raises(ValueError, match="batch_size"):
            await projector.catch_up(batch_size=0)
        with pytest.raises(ValueError, match="batch_size"):
            await projector.rebuild(batch_size=-1)
