"""The event-store contract: one test suite that every EventStore adapter runs.

Following pyeventsourcing's abstract recorder tests, :class:`EventStoreContract` is not
collected itself (its name does not start with ``Test``); each adapter's test module
subclasses it, sets :attr:`EventStoreContract.store_url` in a fixture (a fresh file or a
fresh PostgreSQL schema per test) and implements the hooks that go around the adapter:
direct SQL against its database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import time
from abc import ABC, abstractmethod
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from storage.events.archive import manifest_path_for, read_archive, verify_archive
from storage.events.errors import (
    ArchiveError,
    ChainBroken,
    EventStoreClosed,
    EventStoreReadOnly,
    IdempotencyConflict,
    StreamVersionConflict,
)
from storage.events.metadata import EventMetadata
from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    PresignatureAdded,
    PresignatureUsed,
    SignatureProduced,
    TransactionBroadcast,
    TransactionBuilt,
    TransactionConfirmed,
    WalletCreated,
    ceremony_stream,
    parse_event,
    to_new_event,
    wallet_stream,
)
from storage.events.port import (
    GENESIS_HASH,
    RETENTION,
    Clock,
    EventStore,
    IndexEntry,
    NewEvent,
    StoredEvent,
    open_event_store,
    open_event_store_read_only,
    verify_chain,
)

START = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


class SteppingClock:
    """A deterministic clock: ``START`` plus one millisecond per call."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


class ManualClock:
    """A clock that says whatever the test last set; ``START`` until then."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
"""The retention tests' present; the cutoff NOW - RETENTION is 2018-06-15T12:00Z."""


def years_ago(years: int, *, days: int = 0) -> datetime:
    return NOW.replace(year=NOW.year - years) + timedelta(days=days)


def event(
    key: str,
    *,
    stream: str = "wallet-w1",
    payload: dict[str, Any] | None = None,
    event_type: str = "Tested",
    metadata: dict[str, str] | None = None,
) -> NewEvent:
    return NewEvent(
        stream_id=stream,
        event_type=event_type,
        payload={"key": key} if payload is None else payload,
        metadata={"actor": "test"} if metadata is None else metadata,
        idempotency_key=key,
    )


def append_in_another_process(url: str, worker: int, count: int) -> list[int]:
    """Open the store at ``url`` in this (child) process and append ``count`` events."""

    async def run() -> list[int]:
        async with await open_event_store(url) as store:
            positions = []
            for i in range(count):
                stored = await store.append(
                    event(f"proc-{worker}-{i}", stream=f"wallet-p{worker % 3}")
                )
                positions.append(stored.position)
            return positions

    return asyncio.run(run())


class EventStoreContract(ABC):
    """Behaviour every :class:`EventStore` must have."""

    store_url: str
    """Where this test's store lives; set by the adapter's fixture, fresh for every test."""

    refusal_errors: tuple[type[BaseException], ...]
    """What the database driver raises when a trigger refuses a change."""

    @abstractmethod
    async def raw_update_payload(self, position: int, payload_json: str) -> None:
        """``UPDATE`` an event's payload with plain SQL, as an attacker with access would."""

    @abstractmethod
    async def raw_delete(self, position: int) -> None:
        """``DELETE`` an event with plain SQL."""

    @abstractmethod
    async def tamper_payload(self, position: int, payload_json: str) -> None:
        """Overwrite a payload after switching the append-only protection off."""

    async def open_store(self, clock: Clock | None = None) -> EventStore:
        return await open_event_store(self.store_url, clock=clock)

    async def filled_store(self, count: int) -> tuple[EventStore, list[StoredEvent]]:
        store = await self.open_store(SteppingClock())
        stored = [
            await store.append(event(f"k{i}", stream=f"wallet-w{i % 2}")) for i in range(count)
        ]
        return store, stored

    # -- append and read -------------------------------------------------------------------

    async def test_empty_store(self) -> None:
        async with await self.open_store() as store:
            assert await store.count() == 0
            assert await store.head() is None
            assert await store.read_all() == []
            assert await store.read_stream("wallet-w1") == []
            assert "password" not in store.url

    async def test_append_then_read(self) -> None:
        clock = SteppingClock()
        async with await self.open_store(clock) as store:
            new = event("k1", payload={"amount": "1.5", "nested": {"b": [1, 2], "a": None}})
            stored = await store.append(new)
            assert stored.position == 1
            assert stored.stream_version == 1
            assert stored.prev_hash == GENESIS_HASH
            assert stored.recorded_at == clock.now
            assert (stored.stream_id, stored.event_type, stored.schema_version) == (
                new.stream_id,
                new.event_type,
                new.schema_version,
            )
            assert stored.payload == new.payload
            assert stored.metadata == new.metadata
            assert stored.idempotency_key == "k1"
            assert await store.read_all() == [stored]
            assert await store.read_stream(new.stream_id) == [stored]
            assert await store.head() == stored
            assert await store.count() == 1

    async def test_positions_are_gapless_and_stream_versions_per_stream(self) -> None:
        store, stored = await self.filled_store(7)
        async with store:
            assert [e.position for e in stored] == list(range(1, 8))
            assert [e.stream_version for e in stored] == [1, 1, 2, 2, 3, 3, 4]
            for previous, current in itertools.pairwise(stored):
                assert current.prev_hash == previous.hash
            assert await store.read_all() == stored
            assert await store.read_stream("wallet-w0") == stored[0::2]
            assert await store.read_stream("wallet-w1") == stored[1::2]
            assert await store.head() == stored[-1]
            assert await store.count() == 7

    async def test_read_all_window(self) -> None:
        store, stored = await self.filled_store(6)
        async with store:
            assert await store.read_all(after_position=2) == stored[2:]
            assert await store.read_all(after_position=2, limit=2) == stored[2:4]
            assert await store.read_all(limit=0) == []
            assert await store.read_all(after_position=6) == []
            verify_chain(await store.read_all(after_position=3), previous=stored[2])
            with pytest.raises(ValueError, match="after_position"):
                await store.read_all(after_position=-1)
            with pytest.raises(ValueError, match="limit"):
                await store.read_all(limit=-1)

    async def test_payload_round_trips_exactly(self) -> None:
        payload = {
            "unicode": "zürich ✓ 東京",
            "float": 1.0,
            "int": 1,
            "big": 2**80,
            "negative_zero": -0.0,
            "tiny": 5e-324,
            "list": [1, "two", None, True, {"z": 1, "a": 2}],
            "escaped": 'quote " backslash \\ nul \x00',
        }
        async with await self.open_store() as store:
            stored = await store.append(event("k1", payload=payload))
            (read,) = await store.read_all()
            assert read == stored
            assert read.payload == payload
            assert type(read.payload["float"]) is float
            assert type(read.payload["int"]) is int
            verify_chain([read])

    async def test_recorded_at_is_timezone_aware_utc(self) -> None:
        async with await self.open_store() as store:
            before = datetime.now(UTC)
            stored = await store.append(event("k1"))
            after = datetime.now(UTC)
            (read,) = await store.read_all()
        for recorded_at in (stored.recorded_at, read.recorded_at):
            assert recorded_at.utcoffset() == timedelta(0)
            assert before <= recorded_at <= after
        assert read.recorded_at == stored.recorded_at

    async def test_recorded_at_from_a_non_utc_clock_is_stored_in_utc(self) -> None:
        plus_two = timezone(timedelta(hours=2))
        instant = datetime(2025, 6, 1, 14, 0, 0, 123456, tzinfo=plus_two)
        async with await self.open_store(lambda: instant) as store:
            stored = await store.append(event("k1"))
            (read,) = await store.read_all()
        assert read.recorded_at == instant
        assert read.recorded_at.tzinfo == UTC
        assert read.recorded_at.hour == 12
        assert stored == read

    # -- idempotency -----------------------------------------------------------------------

    async def test_idempotent_append_returns_the_stored_event(self) -> None:
        store, _ = await self.filled_store(2)
        async with store:
            first = await store.append(event("same"))
            again = await store.append(event("same"))
            assert again == first
            assert await store.count() == 3
            assert await store.read_all(after_position=2) == [first]

    @pytest.mark.parametrize(
        "changed",
        [
            event("same", payload={"key": "other"}),
            event("same", payload={"key": "same", "extra": 1}),
            event("same", stream="wallet-other"),
            event("same", event_type="Other"),
            event("same", metadata={"actor": "someone else"}),
            NewEvent(
                stream_id="wallet-w1",
                event_type="Tested",
                schema_version=2,
                payload={"key": "same"},
                metadata={"actor": "test"},
                idempotency_key="same",
            ),
        ],
        ids=["payload", "payload-extra", "stream", "type", "metadata", "schema-version"],
    )
    async def test_conflicting_idempotent_append_raises(self, changed: NewEvent) -> None:
        async with await self.open_store() as store:
            first = await store.append(event("same"))
            with pytest.raises(IdempotencyConflict) as caught:
                await store.append(changed)
            assert caught.value.idempotency_key == "same"
            assert caught.value.position == 1
            assert await store.read_all() == [first]

    async def test_int_and_float_payloads_are_different_content(self) -> None:
        async with await self.open_store() as store:
            await store.append(event("k", payload={"x": 1}))
            with pytest.raises(IdempotencyConflict):
                await store.append(event("k", payload={"x": 1.0}))

    # -- append_many -----------------------------------------------------------------------

    async def test_append_many(self) -> None:
        store, _ = await self.filled_store(1)
        async with store:
            batch = [event("b1"), event("b2", stream="ceremony-c1"), event("b3")]
            stored = await store.append_many(batch)
            assert [e.position for e in stored] == [2, 3, 4]
            assert [e.idempotency_key for e in stored] == ["b1", "b2", "b3"]
            assert [e.stream_version for e in stored] == [1, 1, 2]
            # One batch is one instant.
            assert len({e.recorded_at for e in stored}) == 1
            assert await store.read_all(after_position=1) == stored
            assert await store.append_many([]) == []
            verify_chain(await store.read_all())

    async def test_append_many_is_atomic(self) -> None:
        store, before = await self.filled_store(2)
        async with store:
            bad_batch = [event("new-1"), event("k0", payload={"changed": True}), event("new-2")]
            with pytest.raises(IdempotencyConflict):
                await store.append_many(bad_batch)
            assert await store.read_all() == before
            assert await store.count() == 2
            # The failed batch left no gap: the next append takes the next position.
            stored = await store.append_many([event("new-1"), event("new-2")])
            assert [e.position for e in stored] == [3, 4]
            verify_chain(await store.read_all())

    async def test_append_many_with_an_unencodable_event_stores_nothing(self) -> None:
        store, before = await self.filled_store(1)
        async with store:
            # model_construct skips validation, as a buggy caller bypassing the model would.
            unencodable = NewEvent.model_construct(
                stream_id="wallet-w1",
                event_type="Tested",
                schema_version=1,
                payload={"not json": {1, 2}},
                metadata={},
                idempotency_key="bad",
            )
            with pytest.raises(TypeError):
                await store.append_many([event("fine"), unencodable])
            assert await store.read_all() == before

    async def test_append_many_returns_already_stored_events(self) -> None:
        store, before = await self.filled_store(2)
        async with store:
            stored = await store.append_many([event("k1", stream="wallet-w1"), event("new")])
            assert stored[0] == before[1]
            assert stored[1].position == 3
            assert await store.count() == 3

    async def test_append_many_with_a_repeated_key(self) -> None:
        async with await self.open_store() as store:
            stored = await store.append_many([event("a"), event("b"), event("a")])
            assert stored[0] == stored[2]
            assert [e.position for e in stored] == [1, 2, 1]
            assert await store.count() == 2
            with pytest.raises(IdempotencyConflict) as caught:
                await store.append_many([event("c"), event("c", payload={"other": 1})])
            assert caught.value.position is None
            assert await store.count() == 2

    # -- the chain -------------------------------------------------------------------------

    async def test_verify_chain_passes_on_a_real_store(self) -> None:
        store, stored = await self.filled_store(10)
        async with store:
            verify_chain(await store.read_all())
            verify_chain(stored)

    async def test_tampering_is_detected_at_the_tampered_event(self) -> None:
        store, _ = await self.filled_store(5)
        await store.close()
        await self.tamper_payload(3, '{"key":"forged"}')
        async with await self.open_store() as store:
            events = await store.read_all()
        assert events[2].payload == {"key": "forged"}
        with pytest.raises(ChainBroken) as caught:
            verify_chain(events)
        assert caught.value.position == 3
        assert "hash" in caught.value.reason
        # Everything before the tampered event still verifies.
        verify_chain(events[:2])

    async def test_database_refuses_update(self) -> None:
        store, stored = await self.filled_store(3)
        async with store:
            with pytest.raises(self.refusal_errors, match="append-only"):
                await self.raw_update_payload(2, '{"key":"forged"}')
            assert await store.read_all() == stored

    async def test_database_refuses_delete(self) -> None:
        store, stored = await self.filled_store(3)
        async with store:
            with pytest.raises(self.refusal_errors, match="append-only"):
                await self.raw_delete(3)
            assert await store.read_all() == stored

    # -- concurrency -----------------------------------------------------------------------

    async def test_concurrent_appends_form_one_chain(self) -> None:
        async with await self.open_store() as store:
            results = await asyncio.gather(
                *(store.append(event(f"c{i}", stream=f"wallet-w{i % 5}")) for i in range(50))
            )
            events = await store.read_all()
        assert sorted(e.position for e in results) == list(range(1, 51))
        assert len({e.idempotency_key for e in events}) == 50
        assert len(events) == 50
        verify_chain(events)
        for stream in {e.stream_id for e in events}:
            versions = [e.stream_version for e in events if e.stream_id == stream]
            assert versions == list(range(1, len(versions) + 1))

    async def test_concurrent_appends_of_one_key_store_one_event(self) -> None:
        async with await self.open_store() as store:
            results = await asyncio.gather(*(store.append(event("once")) for _ in range(20)))
            assert await store.count() == 1
        assert all(result == results[0] for result in results)

    async def test_two_store_instances_share_one_chain(self) -> None:
        async with await self.open_store() as one, await self.open_store() as two:
            await asyncio.gather(
                *(one.append(event(f"one-{i}")) for i in range(20)),
                *(two.append(event(f"two-{i}")) for i in range(20)),
            )
            assert await one.read_all() == await two.read_all()
            verify_chain(await one.read_all())
            assert await two.count() == 40

    def test_appends_from_several_processes_form_one_chain(self) -> None:
        # The demo runs one worker process per party on one store. The children also race
        # to create the store: opening a fresh store concurrently is part of the contract.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
            futures = [
                pool.submit(append_in_another_process, self.store_url, worker, 15)
                for worker in range(4)
            ]
            positions = [p for future in futures for p in future.result(timeout=120)]
        assert sorted(positions) == list(range(1, 61))

        async def check() -> None:
            async with await self.open_store() as store:
                events = await store.read_all()
            assert len(events) == 60
            verify_chain(events)

        asyncio.run(check())

    # -- lifecycle -------------------------------------------------------------------------

    async def test_reopening_keeps_the_data_and_the_chain(self) -> None:
        store, stored = await self.filled_store(3)
        await store.close()
        async with await self.open_store() as reopened:
            assert await reopened.read_all() == stored
            assert await reopened.count() == 3
            next_event = await reopened.append(event("after-reopen"))
            assert next_event.position == 4
            assert next_event.prev_hash == stored[-1].hash
            assert await reopened.append(event("k0", stream="wallet-w0")) == stored[0]
            verify_chain(await reopened.read_all())

    async def test_closed_store_refuses_use(self) -> None:
        store = await self.open_store()
        await store.close()
        await store.close()  # Idempotent.
        with pytest.raises(EventStoreClosed):
            await store.append(event("k1"))
        with pytest.raises(EventStoreClosed):
            await store.read_all()
        with pytest.raises(EventStoreClosed):
            await store.count()

    # -- domain events ---------------------------------------------------------------------

    async def test_domain_events_round_trip_through_the_store(self) -> None:
        domain_events = domain_event_examples()
        async with await self.open_store() as store:
            stored = await store.append_many(
                [
                    to_new_event(
                        e,
                        stream_id=example_stream(e),
                        idempotency_key=f"{type(e).__name__}-{example_stream(e)}",
                        metadata={"correlation_id": "req-1"},
                    )
                    for e in domain_events
                ]
            )
            read = await store.read_all()
        assert read == stored
        assert [parse_event(e) for e in read] == domain_events
        assert all(e.metadata == {"correlation_id": "req-1"} for e in read)
        verify_chain(read)

    # -- optimistic concurrency ------------------------------------------------------------

    async def test_expected_version_guards_the_stream(self) -> None:
        async with await self.open_store(SteppingClock()) as store:
            first = await store.append(event("a1", stream="wallet-a"), expected_version=0)
            assert first.stream_version == 1
            with pytest.raises(StreamVersionConflict) as caught:
                await store.append(event("a2", stream="wallet-a"), expected_version=0)
            assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == (
                "wallet-a",
                0,
                1,
            )
            with pytest.raises(StreamVersionConflict) as caught:
                await store.append(event("a2", stream="wallet-a"), expected_version=2)
            assert caught.value.actual == 1
            # The refusals wrote nothing and left no gap.
            assert await store.count() == 1
            second = await store.append(event("a2", stream="wallet-a"), expected_version=1)
            assert (second.position, second.stream_version) == (2, 2)
            # Without an expectation, an append goes through whatever the version.
            third = await store.append(event("a3", stream="wallet-a"))
            assert third.stream_version == 3
            verify_chain(await store.read_all())

    async def test_append_many_checks_every_expected_version_first(self) -> None:
        store, before = await self.filled_store(2)  # wallet-w0 and wallet-w1 at version 1
        async with store:
            batch = [event("n1", stream="wallet-w0"), event("n2", stream="wallet-new")]
            with pytest.raises(StreamVersionConflict) as caught:
                await store.append_many(batch, {"wallet-w0": 1, "wallet-new": 1})
            assert caught.value.stream_id == "wallet-new"
            # A precondition on a stream the batch does not touch.
            with pytest.raises(StreamVersionConflict) as caught:
                await store.append_many(batch, {"wallet-w1": 0})
            assert (caught.value.stream_id, caught.value.actual) == ("wallet-w1", 1)
            assert await store.read_all() == before
            stored = await store.append_many(
                batch, {"wallet-w0": 1, "wallet-new": 0, "wallet-w1": 1}
            )
            assert [(e.stream_id, e.stream_version) for e in stored] == [
                ("wallet-w0", 2),
                ("wallet-new", 1),
            ]

    async def test_a_retried_append_with_its_expected_version_gets_the_stored_event(
        self,
    ) -> None:
        async with await self.open_store(SteppingClock()) as store:
            stored = await store.append(event("once", stream="wallet-a"), expected_version=0)
            # The first attempt committed but its answer was lost; the retry is not a
            # conflict with itself.
            assert await store.append(event("once", stream="wallet-a"), 0) == stored
            batch = [event("b1", stream="wallet-a"), event("b2", stream="wallet-a")]
            first = await store.append_many(batch, {"wallet-a": 1})
            assert await store.append_many(batch, {"wallet-a": 1}) == first
            # A stored key replayed under another expectation is a conflict.
            with pytest.raises(StreamVersionConflict):
                await store.append(event("once", stream="wallet-a"), expected_version=2)
            assert await store.count() == 3

    @pytest.mark.parametrize("bad", [-1, True, 1.0, "1"])
    async def test_malformed_expected_versions_are_refused(self, bad: Any) -> None:
        async with await self.open_store() as store:
            with pytest.raises(ValueError, match="expected version"):
                await store.append(event("k"), expected_version=bad)
            with pytest.raises(ValueError, match="expected version"):
                await store.append_many([event("k")], {"wallet-w1": bad})
            assert await store.count() == 0

    async def test_concurrent_appends_at_the_same_version_exactly_one_wins(self) -> None:
        async with await self.open_store() as store:
            for version in range(5):
                results = await asyncio.gather(
                    *(
                        store.append(event(f"v{version}-{i}", stream="wallet-race"), version)
                        for i in range(4)
                    ),
                    return_exceptions=True,
                )
                winners = [r for r in results if isinstance(r, StoredEvent)]
                losers = [r for r in results if isinstance(r, StreamVersionConflict)]
                assert len(winners) == 1, results
                assert len(losers) == 3, results
                assert winners[0].stream_version == version + 1
                assert {(c.expected, c.actual) for c in losers} == {(version, version + 1)}
            events = await store.read_all()
        assert len(events) == 5
        verify_chain(events)

    async def test_two_store_instances_at_the_same_version_exactly_one_wins(self) -> None:
        async with await self.open_store() as one, await self.open_store() as two:
            await one.append(event("base", stream="wallet-race"))
            for round_ in range(3):
                version = round_ + 1
                results = await asyncio.gather(
                    one.append(event(f"one-{round_}", stream="wallet-race"), version),
                    two.append(event(f"two-{round_}", stream="wallet-race"), version),
                    return_exceptions=True,
                )
                assert sorted(type(r).__name__ for r in results) == [
                    "StoredEvent",
                    "StreamVersionConflict",
                ], results
            events = await two.read_all()
        assert [e.stream_version for e in events] == [1, 2, 3, 4]
        verify_chain(events)

    # -- metadata --------------------------------------------------------------------------

    async def test_event_metadata_round_trips(self) -> None:
        metadata = EventMetadata(
            tenant="acme",
            actor="api:alice",
            correlation_id="req-7",
            ceremony="sign-1",
            extra={"source.region": "eu"},
        )
        (example, *_) = domain_event_examples()
        async with await self.open_store() as store:
            stored = await store.append(
                to_new_event(
                    example, stream_id="ceremony-dkg-1", idempotency_key="m1", metadata=metadata
                )
            )
            (read,) = await store.read_all()
        assert read == stored
        assert read.metadata == {
            "tenant": "acme",
            "actor": "api:alice",
            "correlation_id": "req-7",
            "ceremony": "sign-1",
            "source.region": "eu",
        }
        assert read.event_metadata() == metadata
        verify_chain([read])

    # -- reading for auditors and followers ------------------------------------------------

    async def test_read_range_by_time_and_stream_prefix(self) -> None:
        clock = ManualClock()
        t = [START + timedelta(hours=h) for h in range(6)]
        streams = ["wallet-w1", "wallet-w10", "wallet-w2", "wallet-w1", "ceremony-c1", "wallet-w1"]
        async with await self.open_store(clock) as store:
            stored = []
            for i, (when, stream) in enumerate(zip(t, streams, strict=True)):
                clock.now = when
                stored.append(await store.append(event(f"r{i}", stream=stream)))
            assert await store.read_range(t[0], t[5] + timedelta(seconds=1)) == stored
            # Half-open: start included, end excluded.
            assert await store.read_range(t[1], t[4]) == stored[1:4]
            assert await store.read_range(t[2], t[2]) == []
            assert await store.read_range(t[0], t[5], "wallet-w1") == [
                stored[0],
                stored[1],
                stored[3],
            ]
            assert await store.read_range(t[0], t[5], "wallet-") == [
                stored[0],
                stored[1],
                stored[2],
                stored[3],
            ]
            assert await store.read_range(t[0], t[5], "") == stored[:5]
            assert await store.read_range(t[0], t[5], "nothing") == []
            # Times in another zone mean the same instants.
            plus_two = timezone(timedelta(hours=2))
            assert await store.read_range(t[1].astimezone(plus_two), t[2]) == [stored[1]]
            with pytest.raises(ValueError, match="timezone-aware"):
                await store.read_range(t[0].replace(tzinfo=None), t[1])
            with pytest.raises(ValueError, match="before start"):
                await store.read_range(t[2], t[1])

    async def test_read_range_with_unusual_prefixes(self) -> None:
        top = "\U0010ffff"
        streams = ["wallet-é", "wallet-éa", "wallet-f", f"x{top}", f"x{top}{top}y", "y"]
        async with await self.open_store(SteppingClock()) as store:
            stored = [
                await store.append(event(f"u{i}", stream=stream))
                for i, stream in enumerate(streams)
            ]
            end = START + timedelta(days=1)
            assert await store.read_range(START, end, "wallet-é") == stored[0:2]
            assert await store.read_range(START, end, f"x{top}") == stored[3:5]
            assert await store.read_range(START, end, top) == []

    async def test_read_after_pages_through_the_log(self) -> None:
        store, stored = await self.filled_store(7)
        async with store:
            pages = []
            position = 0
            while page := await store.read_after(position, 3):
                pages.append(page)
                position = page[-1].position
            assert [len(page) for page in pages] == [3, 3, 1]
            assert [e for page in pages for e in page] == stored
            assert await store.read_after(7, 10) == []

    async def test_recorded_at_never_goes_back(self) -> None:
        clock = ManualClock(START)
        async with await self.open_store(clock) as store:
            first = await store.append(event("k1"))
            clock.now = START - timedelta(hours=1)  # An NTP step back, or a skewed host.
            second = await store.append(event("k2"))
            clock.now = START + timedelta(seconds=1)
            third = await store.append(event("k3"))
            assert second.recorded_at == first.recorded_at
            assert third.recorded_at == START + timedelta(seconds=1)
            verify_chain(await store.read_all())

    async def test_head_position(self) -> None:
        async with await self.open_store() as store:
            assert await store.head_position() == 0
            await store.append_many([event("a"), event("b")])
            assert await store.head_position() == 2

    async def test_wait_for_events(self) -> None:
        async with await self.open_store() as store:
            assert await store.wait_for_events(0, 0.05) is False
            await store.append(event("a"))
            # Already beyond: at once, even with no time to wait.
            assert await store.wait_for_events(0, 0) is True
            assert await store.wait_for_events(1, 0.05) is False
            with pytest.raises(ValueError, match="after_position"):
                await store.wait_for_events(-1, 1)
            with pytest.raises(ValueError, match="timeout"):
                await store.wait_for_events(0, -1)

    async def test_wait_for_events_wakes_on_an_append_by_another_instance(self) -> None:
        async with await self.open_store() as follower, await self.open_store() as writer:
            await writer.append(event("a"))
            for round_ in range(3):
                waiting = asyncio.create_task(follower.wait_for_events(round_ + 1, 30))
                await asyncio.sleep(0.1)
                assert not waiting.done()
                started = time.monotonic()
                await writer.append(event(f"b{round_}"))
                assert await waiting is True
                # Well below a second: NOTIFY in PostgreSQL, a 20 ms poll in SQLite.
                assert time.monotonic() - started < 0.5
            # Several followers wait at once; one append wakes them all.
            waiters = [asyncio.create_task(follower.wait_for_events(4, 30)) for _ in range(5)]
            await asyncio.sleep(0.1)
            await writer.append(event("c"))
            assert await asyncio.gather(*waiters) == [True] * 5

    # -- retention -------------------------------------------------------------------------

    async def test_retention_archives_only_months_older_than_the_cutoff(
        self, tmp_path: Path
    ) -> None:
        clock = ManualClock()
        cutoff = NOW - RETENTION
        assert cutoff == datetime(2018, 6, 15, 12, 0, tzinfo=UTC)
        timeline = [
            (years_ago(8), "wallet-a"),  # 2017-06: archived
            (years_ago(8, days=1), "wallet-b"),
            (years_ago(8, days=17), "wallet-a"),  # 2017-07: archived
            (datetime(2018, 6, 1, tzinfo=UTC), "wallet-a"),  # spans the cutoff: kept
            (years_ago(6), "wallet-b"),  # 2019-06: kept
            (NOW, "wallet-a"),
        ]
        async with await self.open_store(clock) as store:
            stored = []
            for i, (when, stream) in enumerate(timeline):
                clock.now = when
                stored.append(await store.append(event(f"t{i}", stream=stream)))
            clock.now = NOW
            paths = await store.archive_partitions(cutoff, tmp_path)
            assert [p.name for p in paths] == ["events-2017-06.jsonl", "events-2017-07.jsonl"]
            june, july = (read_archive(p) for p in paths)
            assert june == stored[0:2]
            assert july == stored[2:3]
            assert await store.read_all() == stored[3:]
            assert await store.count() == 3
            assert await store.head_position() == 6
            # Archives and the live store are one chain, stream versions included.
            verify_chain([*june, *july, *await store.read_all()])
            first = verify_archive(paths[0], previous_hash=GENESIS_HASH)
            second = verify_archive(paths[1], previous_hash=first.last_hash)
            assert (first.month, first.count, first.first_position, first.last_position) == (
                "2017-06",
                2,
                1,
                2,
            )
            assert (second.first_prev_hash, second.last_hash) == (stored[1].hash, stored[2].hash)
            assert second.source == store.url
            assert json.loads(manifest_path_for(paths[1]).read_text())["sha256"] == second.sha256
            # Running again finds nothing more to do.
            assert await store.archive_partitions(cutoff, tmp_path) == []
            assert await store.count() == 3
            # The chain and the streams go on from where they were.
            later = await store.append(event("after", stream="wallet-a"), expected_version=4)
            assert (later.position, later.stream_version) == (7, 5)
            assert later.prev_hash == stored[-1].hash
            # Keys of archived events stay taken.
            with pytest.raises(IdempotencyConflict, match="archived") as caught:
                await store.append(event("t0", stream="wallet-a"))
            assert caught.value.position == 1
            assert await store.read_stream("wallet-a") == [stored[3], stored[5], later]
            verify_chain([*june, *july, *await store.read_all()])

    async def test_retention_never_touches_younger_months(self, tmp_path: Path) -> None:
        clock = ManualClock(years_ago(6))
        async with await self.open_store(clock) as store:
            stored = [await store.append(event(f"y{i}")) for i in range(3)]
            assert await store.archive_partitions(NOW - RETENTION, tmp_path) == []
            # Nor the month that contains the cutoff itself.
            assert await store.archive_partitions(years_ago(6, days=1), tmp_path) == []
            assert await store.read_all() == stored
        assert list(tmp_path.glob("events-*")) == []

    async def test_archiving_everything_keeps_the_chain_going(self, tmp_path: Path) -> None:
        clock = ManualClock(years_ago(9))
        async with await self.open_store(clock) as store:
            stored = await store.append_many([event("a"), event("b", stream="wallet-b")])
            clock.now = NOW
            (path,) = await store.archive_partitions(NOW, tmp_path)
            assert await store.count() == 0
            assert await store.head() is None
            assert await store.head_position() == 2
            after = await store.append(event("c", stream="wallet-b"), expected_version=1)
            assert (after.position, after.prev_hash, after.stream_version) == (
                3,
                stored[-1].hash,
                2,
            )
            verify_chain([*read_archive(path), *await store.read_all()])

    async def test_retention_refuses_a_tampered_month(self, tmp_path: Path) -> None:
        clock = ManualClock(years_ago(9))
        store = await self.open_store(clock)
        await store.append_many([event("a"), event("b"), event("c")])
        await store.close()
        await self.tamper_payload(2, '{"key":"forged"}')
        async with await self.open_store(clock) as store:
            with pytest.raises(ChainBroken) as caught:
                await store.archive_partitions(NOW, tmp_path)
            assert caught.value.position == 2
            assert await store.count() == 3
        # Nothing half-written is left behind.
        assert list(tmp_path.glob("events-*")) == []

    async def test_archived_month_files_are_not_overwritten(self, tmp_path: Path) -> None:
        clock = ManualClock(years_ago(9))
        (tmp_path / "events-2016-06.jsonl").write_text("someone else's archive\n")
        async with await self.open_store(clock) as store:
            await store.append(event("a"))
            with pytest.raises(ArchiveError, match="refusing to overwrite"):
                await store.archive_partitions(NOW, tmp_path)
            assert await store.count() == 1
        assert (tmp_path / "events-2016-06.jsonl").read_text() == "someone else's archive\n"

    # -- the event index and read-only opening ---------------------------------------------

    async def test_every_event_has_its_index_entry(self, tmp_path: Path) -> None:
        clock = ManualClock(years_ago(9))
        async with await self.open_store(clock) as store:
            old = await store.append_many([event("a"), event("b", stream="wallet-b")])
            clock.now = NOW
            await store.archive_partitions(NOW, tmp_path)
            new = await store.append(event("c"))
            entries = await store.read_index([3, 1, 2, 99])
        # Archived events keep their entries: the index is never archived.
        assert entries == [IndexEntry.of(e) for e in (*old, new)]

    async def test_read_only_opening_reads_and_refuses_writes(self) -> None:
        store, stored = await self.filled_store(5)
        await store.close()
        async with await open_event_store_read_only(self.store_url) as reader:
            assert await reader.read_all() == stored
            assert await reader.read_stream("wallet-w0") == stored[0::2]
            assert await reader.head() == stored[-1]
            assert await reader.head_position() == 5
            assert await reader.read_index([1, 5]) == [
                IndexEntry.of(stored[0]),
                IndexEntry.of(stored[4]),
            ]
            assert "password" not in reader.url
            with pytest.raises(EventStoreReadOnly):
                await reader.append(event("k9"))
        async with await self.open_store() as store:
            assert await store.count() == 5

    async def test_read_only_opening_sees_one_snapshot(self) -> None:
        store, stored = await self.filled_store(3)
        async with store, await open_event_store_read_only(self.store_url) as reader:
            assert await reader.count() == 3
            await store.append(event("later"))
            assert await reader.count() == 3
            assert await reader.read_all() == stored


def domain_event_examples() -> list[Any]:
    """One instance of each domain event, public values only."""
    return [
        CeremonyStarted(
            ceremony_id="dkg-1",
            wallet_id="w1",
            kind="create_wallet",
            protocol="frost-secp256k1-tr",
            parties=["us-1", "us-2", "eu-1", "eu-2", "apac-1", "apac-2"],
        ),
        WalletCreated(
            wallet_id="w1",
            scheme="bip340",
            ciphersuite="FROST-secp256k1-SHA256-TR-v1",
            group_public_key="02" + "ab" * 32,
            threshold=3,
            parties=["us-1", "us-2", "eu-1", "eu-2", "apac-1", "apac-2"],
            public_key_package="00" * 40,
            ceremony_id="dkg-1",
        ),
        SignatureProduced(
            ceremony_id="sign-1",
            wallet_id="w1",
            scheme="bip340",
            public_key="ab" * 32,
            message="",
            signature="cd" * 64,
            signers=["us-1", "eu-1", "apac-1"],
        ),
        PartyMisbehaved(
            ceremony_id="sign-2",
            wallet_id="w1",
            party="eu-2",
            reason="invalid signature share",
        ),
        CeremonyFailed(
            ceremony_id="sign-2", wallet_id="w1", reason="identifiable abort", culprits=["eu-2"]
        ),
        PresignatureAdded(
            wallet_id="w2",
            presign_id="pre-1",
            signers=["us-1", "eu-1", "apac-1"],
            R="02" + "11" * 32,
            R_shares={
                "us-1": "03" + "22" * 32,
                "eu-1": "02" + "33" * 32,
                "apac-1": "03" + "44" * 32,
            },
        ),
        PresignatureUsed(wallet_id="w2", presign_id="pre-1", ceremony_id="sign-3"),
        TransactionBuilt(
            request_id="tx-1",
            wallet_id="w2",
            chain="polygon",
            intent={"chain": "polygon", "to": "0x" + "12" * 20, "amount": 5},
            transaction={"chain": "polygon", "payload": "02f0", "fee": 21000},
        ),
        TransactionBroadcast(
            request_id="tx-1",
            wallet_id="w2",
            chain="polygon",
            tx_hash="0x" + "ab" * 32,
            raw_tx="02f8" + "00" * 10,
        ),
        TransactionConfirmed(
            request_id="tx-1",
            wallet_id="w2",
            chain="polygon",
            tx_hash="0x" + "ab" * 32,
            confirmations=2,
            block=7,
        ),
    ]


def example_stream(domain_event: Any) -> str:
    """The stream an example goes to: its ceremony's, or its wallet's if it has no ceremony."""
    ceremony_id = getattr(domain_event, "ceremony_id", None)
    if ceremony_id is not None:
        return ceremony_stream(ceremony_id)
    return wallet_stream(domain_event.wallet_id)
