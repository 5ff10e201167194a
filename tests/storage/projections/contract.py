"""The projection contract: one suite every (event store, projection database) pairing runs.

As in ``tests/storage/events/contract.py``, :class:`ProjectionContract` is not collected
itself; each test module combines it with a store mixin and a projection-database mixin
that set the URLs in fixtures (a fresh SQLite file or PostgreSQL schema per test) and
implement the hooks that go around the adapters. Events are always written through the real
event store (``to_new_event`` + ``append``), never inserted by hand.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.events.errors import ChainBroken, EventDecodeError
from storage.events.port import Clock, EventStore, NewEvent, StoredEvent, open_event_store
from storage.projections import (
    AuditProjection,
    CheckpointAhead,
    ProjectionApplyFailed,
    ProjectionChainBroken,
    ProjectionRunner,
    ProjectionVersionTooNew,
    UnknownProjection,
    ceremonies_between,
    default_projections,
    fold_transactions,
    fold_wallet_state,
    get_ceremony,
    get_checkpoints,
    get_party,
    get_party_health,
    get_transaction,
    get_wallet,
    key_shares,
    list_party_health,
    list_wallets,
    open_projection_db,
    pool_levels,
    signatures_between,
    wallet_state_as_of,
    wallet_transactions,
)
from storage.projections.party_health import DEFAULT_HALF_LIFE
from storage.projections.port import Projection, ProjectionDb, ProjectionTx
from tests.storage.projections.scenario import (
    START,
    WEI,
    SteppingClock,
    broadcast,
    built,
    confirmed,
    create_wallet,
    dump,
    dump_all,
    failed,
    misbehaved,
    random_history,
    signed,
    start_signing,
    unknown,
)

REPO = Path(__file__).resolve().parents[3]
CHILD_TIMEOUT_SECONDS = 60.0


async def append_all(store: EventStore, events: Sequence[NewEvent]) -> list[StoredEvent]:
    """Append one at a time, so each event gets its own ``recorded_at`` from the clock."""
    return [await store.append(event) for event in events]


class Exploding(Projection):
    """A projection with a bug: it raises on one event type (and writes before raising)."""

    name = "exploding"
    version = 1
    tables = ("exploding",)

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type

    async def setup(self, tx: ProjectionTx) -> None:
        await tx.execute("CREATE TABLE IF NOT EXISTS exploding (position BIGINT PRIMARY KEY)")

    async def apply(self, tx: ProjectionTx, event: StoredEvent) -> None:
        await tx.execute("INSERT INTO exploding (position) VALUES ($1)", event.position)
        if event.event_type == self.event_type:
            raise RuntimeError("bug in a projection")


class AuditV2(AuditProjection):
    """The audit projection with its version bumped (same rules)."""

    version = 2


class ProjectionContract(ABC):
    """Behaviour every projection database must have, with every event store."""

    store_url: str
    """This test's event store; set by the store mixin, fresh for every test."""

    projection_url: str
    """This test's projection database; set by the projection mixin, fresh for every test."""

    @abstractmethod
    def fresh_store_url(self) -> str:
        """Another, empty event store (for the tests that swap stores under a projection)."""

    @abstractmethod
    def fresh_projection_url(self) -> str:
        """Another, empty projection database (to rebuild into and compare)."""

    @abstractmethod
    async def tamper_payload(self, position: int, payload_json: str) -> None:
        """Overwrite an event's payload in the store behind its append-only protection."""

    async def open_store(self, clock: Clock | None = None, url: str | None = None) -> EventStore:
        return await open_event_store(url or self.store_url, clock=clock)

    async def open_db(self, url: str | None = None) -> ProjectionDb:
        return await open_projection_db(url or self.projection_url)

    async def rebuilt(
        self, store: EventStore, batch_size: int = 1000
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Every default projection built from event zero in a fresh database."""
        projections = default_projections()
        async with await self.open_db(self.fresh_projection_url()) as db:
            await ProjectionRunner(store, db, projections, batch_size).run_until()
            return await dump_all(db, projections)

    # -- what the projections contain ------------------------------------------------------

    async def test_projects_a_known_history(self) -> None:
        clock = SteppingClock()
        t = [START + clock.step * n for n in range(10)]  # t[n]: recorded_at of position n
        events = [
            *create_wallet(
                "w1",
                parties=["us-1", "us-2", "eu-1"],
                threshold=2,
                metadata={"tenant": "acme", "actor": "api:alice"},
            ),
            start_signing("s1", "w1", ["us-1", "us-2"], metadata={"correlation_id": "req-1"}),
            signed("s1", "w1", ["us-1", "us-2"], message="aa" * 32, signature="bb" * 64),
            start_signing("s2", "w1", ["us-1", "eu-1"]),
            misbehaved("s2", "w1", "eu-1", "InvalidSignatureShare"),
            failed("s2", "w1", "invalid share", ["eu-1"]),
            unknown("u1"),
            start_signing("s3", "w1", ["us-2", "eu-1"]),
        ]
        async with await self.open_store(clock) as store, await self.open_db() as db:
            await append_all(store, events)
            runner = ProjectionRunner(store, db, default_projections(), batch_size=4)
            await runner.run_until()

            assert {c.name: c.position for c in (await get_checkpoints(db)).values()} == {
                "audit": 9,
                "current_state": 9,
                "party_health": 9,
                "transactions": 9,
            }

            # Current state.
            wallet = await get_wallet(db, "w1")
            assert wallet is not None
            assert wallet.model_dump() == {
                "wallet_id": "w1",
                "scheme": "bip340",
                "ciphersuite": "FROST-secp256k1-SHA256-TR-v1",
                "threshold": 2,
                "parties": ["us-1", "us-2", "eu-1"],
                "group_public_key": "02" + "11" * 32,
                "ceremony_id": "dkg-w1",
                "created_at": t[2],
                "signature_count": 1,
                "last_signed_at": t[4],
            }
            assert [w.wallet_id for w in await list_wallets(db)] == ["w1"]
            assert await get_wallet(db, "nope") is None
            us1, eu1 = await get_party(db, "us-1"), await get_party(db, "eu-1")
            assert us1 is not None
            assert eu1 is not None
            assert (us1.ceremonies_participated, us1.misbehaviour_count, us1.last_seen_at) == (
                3,
                0,
                t[5],
            )
            assert (eu1.ceremonies_participated, eu1.misbehaviour_count, eu1.last_seen_at) == (
                3,
                1,
                t[9],
            )
            shares = await key_shares(db, "w1")
            assert [(s.party_id, s.party_index, s.ciphersuite) for s in shares] == [
                ("us-1", 1, "FROST-secp256k1-SHA256-TR-v1"),
                ("us-2", 2, "FROST-secp256k1-SHA256-TR-v1"),
                ("eu-1", 3, "FROST-secp256k1-SHA256-TR-v1"),
            ]
            pools = await pool_levels(db, "w1")
            assert [(p.party_id, p.pool, p.level) for p in pools] == [
                ("eu-1", "nonces", 0),
                ("us-1", "nonces", 0),
                ("us-2", "nonces", 0),
            ]

            # Party health.
            h_us1 = await get_party_health(db, "us-1")
            h_eu1 = await get_party_health(db, "eu-1")
            assert h_us1 is not None
            assert h_eu1 is not None
            assert (
                h_us1.ceremonies_started,
                h_us1.ceremonies_completed,
                h_us1.ceremonies_failed,
                h_us1.ceremonies_blamed,
                h_us1.misbehaviour_count,
            ) == (3, 2, 1, 0, 0)
            # Not blamed for s2's failure: nothing lowers its score.
            assert h_us1.health_score == 1.0
            assert (h_us1.last_failure_reason, h_us1.last_failure_at) == ("invalid share", t[7])
            assert h_us1.last_failure_ceremony == "s2"
            assert (
                h_eu1.ceremonies_started,
                h_eu1.ceremonies_completed,
                h_eu1.ceremonies_failed,
                h_eu1.ceremonies_blamed,
                h_eu1.misbehaviour_count,
            ) == (3, 1, 1, 1, 1)

            # The formula by hand: one success at t2, a misbehaviour at t6 and a blamed
            # failure at t7, everything aged to eu-1's last event (t9); half-life 7 days.
            def decay(hours: float) -> float:
                return math.pow(0.5, hours * 3600 / DEFAULT_HALF_LIFE.total_seconds())

            s = decay(21)
            f = decay(6)
            m = decay(9)
            expected = (s + 1) / (s + f + 1) * 0.5**m
            assert math.isclose(h_eu1.health_score, expected, rel_tol=1e-12)
            assert 0.3 < h_eu1.health_score < 0.4
            assert h_eu1.decayed_at == t[9]
            # Ageing with no new events lets old trouble fade.
            assert h_eu1.score_at(t[9] + timedelta(days=70)) > 0.99
            ranking = [h.party_id for h in await list_party_health(db)]
            assert ranking[-1] == "eu-1"

            # Audit.
            s1 = await get_ceremony(db, "s1")
            assert s1 is not None
            assert s1.model_dump() == {
                "ceremony_id": "s1",
                "wallet_id": "w1",
                "tenant": None,
                "actor": None,
                "correlation_id": "req-1",
                "kind": "sign",
                "protocol": "FROST-secp256k1-SHA256-TR-v1",
                "scheme": "bip340",
                "parties": ["us-1", "us-2"],
                "signers": ["us-1", "us-2"],
                "message": "aa" * 32,
                "signature": "bb" * 64,
                "public_key": "11" * 32,
                "outcome": "signed",
                "failure_reason": None,
                "culprits": [],
                "misbehaviours": [],
                "started_at": t[3],
                "finished_at": t[4],
                "started_position": 3,
                "finished_position": 4,
                "event_positions": [3, 4],
            }
            s2 = await get_ceremony(db, "s2")
            assert s2 is not None
            assert (s2.outcome, s2.failure_reason, s2.culprits) == (
                "failed",
                "invalid share",
                ["eu-1"],
            )
            assert [m.model_dump() for m in s2.misbehaviours] == [
                {"party": "eu-1", "reason": "InvalidSignatureShare", "position": 6}
            ]
            assert (s2.finished_at, s2.event_positions) == (t[7], [5, 6, 7])
            dkg = await get_ceremony(db, "dkg-w1")
            assert dkg is not None
            assert (dkg.kind, dkg.outcome, dkg.public_key) == (
                "create_wallet",
                "created",
                "02" + "11" * 32,
            )
            assert (dkg.tenant, dkg.actor, dkg.event_positions) == ("acme", "api:alice", [1, 2])
            s3 = await get_ceremony(db, "s3")
            assert s3 is not None
            assert (s3.outcome, s3.finished_at) == ("pending", None)

            # Range queries are half-open: [start, end).
            assert [r.ceremony_id for r in await signatures_between(db, "w1", t[4], t[5])] == ["s1"]
            assert await signatures_between(db, "w1", t[0], t[4]) == []
            assert await signatures_between(db, "w2", t[0], t[9]) == []
            everything = await ceremonies_between(db, t[0], t[9])
            assert [r.ceremony_id for r in everything] == ["dkg-w1", "s1", "s2"]
            assert [
                r.ceremony_id
                for r in await ceremonies_between(db, t[0], t[9], wallet_id="w1", limit=2)
            ] == ["dkg-w1", "s1"]
            with pytest.raises(ValueError, match="timezone-aware"):
                await signatures_between(db, "w1", datetime(2025, 1, 1), t[9])
            with pytest.raises(ValueError, match="before start"):
                await signatures_between(db, "w1", t[9], t[0])

            # As-of: from the projection, and folded from the store; they agree.
            for instant, count, last in [
                (t[1], None, None),
                (t[2], 0, None),
                (t[4] - timedelta(microseconds=1), 0, None),
                (t[4], 1, t[4]),
                (t[9] + timedelta(days=1), 1, t[4]),
            ]:
                state = await wallet_state_as_of(db, "w1", instant)
                folded = await fold_wallet_state(store, "w1", instant, page_size=3)
                assert state == folded
                if count is None:
                    assert state is None
                else:
                    assert state is not None
                    assert (state.signature_count, state.last_signed_at) == (count, last)
            assert await wallet_state_as_of(db, "w1", t[9]) == wallet

    async def test_projects_known_transactions(self) -> None:
        clock = SteppingClock()
        t = [START + clock.step * n for n in range(20)]  # t[n]: recorded_at of position n
        big = 2**70 + 12_345  # wei: above 2^64, let alone BIGINT's 2^63 - 1
        events = [
            # 1-3: r1 goes all the way.
            built("r1", "w1", amount=big, fee=3 * WEI // 10**4),
            broadcast("r1", "w1", "0x" + "a1" * 32),
            confirmed("r1", "w1", "0x" + "a1" * 32, confirmations=12, block=19_000_001),
            # 4: r2 is built only, on bitcoin (an amount in satoshi).
            built(
                "r2",
                "w1",
                chain="bitcoin",
                scheme="bip340",
                from_address="bc1pfrom",
                to="bc1pto",
                amount=50_000,
                fee=1_200,
            ),
            # 5-7: r3's confirmation is folded before its broadcast.
            built("r3", "w1", amount=1),
            confirmed("r3", "w1", "0x" + "c3" * 32, confirmations=3, block=None),
            broadcast("r3", "w1", "0x" + "b3" * 32),
            # 8-9: a broadcast and a confirmation for a request never built.
            broadcast("ghost", "w1", "0x" + "99" * 32),
            confirmed("ghost", "w1", "0x" + "99" * 32),
            # 10-11: should r1 be built or confirmed a second time, the first one stays.
            built("r1", "w2", amount=5, idempotency_key="r1/TransactionBuilt/again"),
            confirmed("r1", "w1", "0x" + "ff" * 32, block=1, idempotency_key="r1/Confirmed/again"),
            # 12-13: another wallet's transfer.
            built("r5", "w2", amount=WEI),
            broadcast("r5", "w2", "0x" + "e5" * 32),
            unknown("u1"),
        ]
        async with await self.open_store(clock) as store, await self.open_db() as db:
            await append_all(store, events)
            runner = ProjectionRunner(store, db, default_projections(), batch_size=4)
            await runner.run_until()
            assert (await get_checkpoints(db))["transactions"].position == 14

            r1 = await get_transaction(db, "r1")
            assert r1 is not None
            assert r1.model_dump() == {
                "request_id": "r1",
                "wallet_id": "w1",
                "chain": "ethereum",
                "from_address": "0x" + "aa" * 20,
                "to_address": "0x" + "bb" * 20,
                "amount": big,
                "fee": 3 * WEI // 10**4,
                "tx_hash": "0x" + "a1" * 32,
                "status": "confirmed",
                "confirmations": 12,
                "block": 19_000_001,
                "built_at": t[1],
                "built_position": 1,
                "broadcast_at": t[2],
                "confirmed_at": t[3],
                "last_position": 3,
            }
            r2 = await get_transaction(db, "r2")
            assert r2 is not None
            assert (r2.chain, r2.from_address, r2.to_address, r2.amount, r2.fee) == (
                "bitcoin",
                "bc1pfrom",
                "bc1pto",
                50_000,
                1_200,
            )
            assert (r2.status, r2.tx_hash, r2.confirmations, r2.block) == (
                "built",
                None,
                None,
                None,
            )
            assert (r2.broadcast_at, r2.confirmed_at, r2.last_position) == (None, None, 4)
            r3 = await get_transaction(db, "r3")
            assert r3 is not None
            # Status never moves back; the first hash known stays; the late broadcast still
            # says when it was recorded.
            assert (r3.status, r3.tx_hash, r3.confirmations, r3.block) == (
                "confirmed",
                "0x" + "c3" * 32,
                3,
                None,
            )
            assert (r3.built_at, r3.confirmed_at, r3.broadcast_at, r3.last_position) == (
                t[5],
                t[6],
                t[7],
                7,
            )
            assert await get_transaction(db, "ghost") is None
            assert await get_transaction(db, "nope") is None

            # Amounts are stored as decimal text, whatever their size.
            async with db.read() as tx:
                stored = await tx.fetchrow(
                    "SELECT amount, fee FROM transactions WHERE request_id = $1", "r1"
                )
            assert stored == {"amount": str(big), "fee": str(3 * WEI // 10**4)}

            w1 = await wallet_transactions(db, "w1")
            assert [r.request_id for r in w1] == ["r1", "r2", "r3"]
            assert w1 == [r1, r2, r3]
            w2 = await wallet_transactions(db, "w2")
            assert [(r.request_id, r.status, r.amount) for r in w2] == [("r5", "broadcast", WEI)]
            assert await wallet_transactions(db, "nope") == []
            # [since, until) on built_at.
            assert await wallet_transactions(db, "w1", since=t[4]) == [r2, r3]
            assert await wallet_transactions(db, "w1", until=t[4]) == [r1]
            assert await wallet_transactions(db, "w1", t[2], t[5]) == [r2]
            assert await wallet_transactions(db, "w1", t[4], t[4]) == []
            with pytest.raises(ValueError, match="timezone-aware"):
                await wallet_transactions(db, "w1", since=datetime(2025, 1, 1))
            with pytest.raises(ValueError, match="before since"):
                await wallet_transactions(db, "w1", t[9], t[0])

            # The same answers folded from the store alone.
            for wallet, since, until in [
                ("w1", None, None),
                ("w2", None, None),
                ("w1", t[4], None),
                ("w1", t[2], t[5]),
                ("nope", None, None),
            ]:
                assert await fold_transactions(
                    store, wallet, since, until, page_size=3
                ) == await wallet_transactions(db, wallet, since, until)

    # -- exactly once, rebuilds ----------------------------------------------------------

    async def test_rebuild_from_zero_equals_incremental(self) -> None:
        history = random_history(1)
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            runner = ProjectionRunner(store, db, default_projections(), batch_size=7)
            quarter = len(history) // 4
            for chunk in range(4):
                end = None if chunk == 3 else (chunk + 1) * quarter
                await append_all(store, history[chunk * quarter : end])
                await runner.run_until()
            incremental = await dump_all(db, list(runner.projections))
            assert incremental["audit"]["audit_ceremonies"]
            transactions = incremental["transactions"]["transactions"]
            assert {row["status"] for row in transactions} == {"built", "broadcast", "confirmed"}
            assert await self.rebuilt(store) == incremental
            assert await self.rebuilt(store, batch_size=1) == incremental
            head = await store.head()
            assert head is not None
            for projection in runner.projections:
                assert await runner.rebuild(projection.name) == head.position
                assert await dump(db, projection) == incremental[projection.name]
            with pytest.raises(UnknownProjection, match="nope"):
                await runner.rebuild("nope")

    async def test_running_again_changes_nothing(self) -> None:
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            await append_all(store, random_history(2, ceremonies=15))
            runner = ProjectionRunner(store, db, default_projections(), batch_size=10)
            await runner.run_until()
            before = await dump_all(db, list(runner.projections))
            checkpoints = await runner.checkpoints()
            await runner.run_until()
            assert await runner.step() == 0
            # A second runner (another connection, as another process would be) finds the
            # checkpoints and applies nothing.
            async with await self.open_db() as again:
                other = ProjectionRunner(store, again, default_projections(), batch_size=3)
                await other.run_until()
                assert await other.step() == 0
            assert await dump_all(db, list(runner.projections)) == before
            assert await runner.checkpoints() == checkpoints

    async def test_concurrent_runners_apply_each_event_once(self) -> None:
        async with await self.open_store(SteppingClock()) as store:
            await append_all(store, random_history(3, ceremonies=30))
            async with await self.open_db() as first, await self.open_db() as second:
                runners = [
                    ProjectionRunner(store, db, default_projections(), batch_size=4)
                    for db in (first, second)
                ]
                await asyncio.gather(*(runner.run_until() for runner in runners))
                result = await dump_all(first, list(runners[0].projections))
            assert result == await self.rebuilt(store)

    async def test_kill_in_the_middle_of_a_batch_then_restart(self, tmp_path: Path) -> None:
        batch_size, hang_at = 10, 25
        async with await self.open_store(SteppingClock()) as store:
            await append_all(store, random_history(7, ceremonies=40))
            head = await store.head()
            assert head is not None
            assert head.position > 3 * batch_size
            marker = tmp_path / "hung"
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "tests.storage.projections.runner_child",
                    self.store_url,
                    self.projection_url,
                    str(batch_size),
                    str(hang_at),
                    str(marker),
                ],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
                while not marker.exists():
                    if child.poll() is not None:
                        _, stderr = child.communicate()
                        pytest.fail(f"the runner exited early: {stderr.decode()}")
                    if time.monotonic() > deadline:
                        pytest.fail("the runner never reached the middle of its batch")
                    await asyncio.sleep(0.01)
                assert marker.read_text() == str(hang_at)
            finally:
                # SIGKILL: no cleanup, no rollback by the client; whatever the database does
                # on its own is what exactly-once rests on.
                child.send_signal(signal.SIGKILL)
                child.communicate()
            assert child.returncode == -signal.SIGKILL

            async with await self.open_db() as db:
                # Two whole batches committed; the third, hung half-way, left nothing.
                checkpoints = await get_checkpoints(db)
                assert {c.position for c in checkpoints.values()} == {2 * batch_size}
                projections = default_projections()
                runner = ProjectionRunner(store, db, projections, batch_size)
                await runner.run_until()
                assert {c.position for c in (await runner.checkpoints()).values()} == {
                    head.position
                }
                resumed = await dump_all(db, projections)
            assert resumed == await self.rebuilt(store)

    async def test_a_version_bump_rebuilds_and_an_older_runner_is_refused(self) -> None:
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            await append_all(store, random_history(4, ceremonies=10))
            original = ProjectionRunner(store, db, default_projections())
            await original.run_until()
            before = await dump(db, AuditProjection())
            head = await store.head()
            assert head is not None

            upgraded = ProjectionRunner(store, db, [AuditV2()])
            await upgraded.setup()
            checkpoint = (await upgraded.checkpoints())["audit"]
            assert (checkpoint.version, checkpoint.position) == (2, 0)
            assert await dump(db, AuditV2()) == {"audit_ceremonies": [], "audit_wallets": []}
            await upgraded.run_until()
            checkpoint = (await upgraded.checkpoints())["audit"]
            assert (checkpoint.version, checkpoint.position) == (2, head.position)
            assert await dump(db, AuditV2()) == before

            # An old runner, set up before the upgrade and still running, is refused too,
            # rather than wiping the new version's rows.
            await append_all(store, create_wallet("late"))
            with pytest.raises(ProjectionVersionTooNew, match="version 2"):
                await original.run_until()
            with pytest.raises(ProjectionVersionTooNew, match="version 2"):
                await ProjectionRunner(store, db, [AuditProjection()]).run_until()
            assert await dump(db, AuditV2()) == before

    # -- what stops the runner, and what does not -------------------------------------------

    async def test_unknown_event_types_are_skipped_but_advance_the_checkpoint(self) -> None:
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            await append_all(store, create_wallet("w1"))
            runner = ProjectionRunner(store, db, default_projections())
            await runner.run_until()
            before = await dump_all(db, list(runner.projections))
            await append_all(
                store,
                [unknown("a"), unknown("b", "PresignaturesAdded"), unknown("c", "FromTheFuture")],
            )
            await runner.run_until()
            assert {c.position for c in (await runner.checkpoints()).values()} == {5}
            assert await dump_all(db, list(runner.projections)) == before
            assert {lag.events_behind for lag in await runner.lag()} == {0}

    async def test_a_broken_chain_stops_the_runner_with_nothing_half_applied(self) -> None:
        history = random_history(5, ceremonies=12)
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            stored = await append_all(store, history)
            assert len(stored) > 20
            runner = ProjectionRunner(store, db, default_projections(), batch_size=3)
            await runner.run_until(4)
            assert {c.position for c in (await runner.checkpoints()).values()} == {6}
            await self.tamper_payload(15, '{"tampered":true}')
            with pytest.raises(ProjectionChainBroken) as caught:
                await runner.run_until()
            assert caught.value.position == 15
            assert isinstance(caught.value, ChainBroken)
            assert sorted(caught.value.projections) == [
                "audit",
                "current_state",
                "party_health",
                "transactions",
            ]
            # Batches before the bad one are committed; the bad batch (13-15) is not.
            assert {c.position for c in (await runner.checkpoints()).values()} == {12}
            snapshot = await dump_all(db, list(runner.projections))
            with pytest.raises(ProjectionChainBroken):
                await runner.run_until()
            assert await dump_all(db, list(runner.projections)) == snapshot

    async def test_a_different_store_under_the_projections_is_refused(self) -> None:
        async with await self.open_db() as db:
            async with await self.open_store(SteppingClock()) as store:
                await append_all(store, random_history(6, ceremonies=3))
                await ProjectionRunner(store, db, default_projections()).run_until()
                applied = (await get_checkpoints(db))["audit"].position
            async with await self.open_store(
                SteppingClock(step=timedelta(seconds=1)), self.fresh_store_url()
            ) as other:
                await append_all(other, random_history(60, ceremonies=1)[:2])
                with pytest.raises(CheckpointAhead, match="rebuild"):
                    await ProjectionRunner(other, db, default_projections()).run_until()
                # Same length or longer, but another history: the hashes give it away.
                await append_all(other, random_history(61, ceremonies=20))
                assert (await other.count()) > applied
                with pytest.raises(ProjectionChainBroken) as caught:
                    await ProjectionRunner(other, db, default_projections()).run_until()
                assert caught.value.position == applied

    async def test_a_failing_projection_rolls_its_batch_back(self) -> None:
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            await append_all(store, create_wallet("w1"))
            await append_all(store, [start_signing("s1", "w1", ["us-1", "us-2", "eu-1"])])
            projections: list[Projection] = [*default_projections(), Exploding("CeremonyStarted")]
            runner = ProjectionRunner(store, db, projections, batch_size=10)
            with pytest.raises(ProjectionApplyFailed) as caught:
                await runner.run_until()
            assert (caught.value.projection, caught.value.position) == ("exploding", 1)
            assert isinstance(caught.value.__cause__, RuntimeError)
            # The same transaction held every projection's rows: none of them was committed.
            assert {c.position for c in (await runner.checkpoints()).values()} == {0}
            assert await list_wallets(db) == []
            assert await dump(db, projections[-1]) == {"exploding": []}

    async def test_a_known_event_type_that_does_not_decode_stops_the_runner(self) -> None:
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            await append_all(store, create_wallet("w1"))
            # A WalletCreated of a schema version this code has no upcaster for: skipping it
            # would lose a wallet, so the runner must stop instead.
            from_the_future = NewEvent(
                stream_id="wallet-w2",
                event_type="WalletCreated",
                schema_version=2,
                payload={"wallet_id": "w2", "shape": "new"},
                idempotency_key="dkg-w2/WalletCreated",
            )
            await append_all(store, [from_the_future])
            runner = ProjectionRunner(store, db, default_projections())
            with pytest.raises(ProjectionApplyFailed) as caught:
                await runner.run_until()
            assert (caught.value.position, caught.value.event_type) == (3, "WalletCreated")
            assert isinstance(caught.value.__cause__, EventDecodeError)
            assert {c.position for c in (await runner.checkpoints()).values()} == {0}

    # -- lag and following -----------------------------------------------------------------

    async def test_lag_reports_events_and_time_behind(self) -> None:
        store_clock = SteppingClock(step=timedelta(seconds=1))
        now = START + timedelta(minutes=1)
        async with await self.open_store(store_clock) as store, await self.open_db() as db:
            stored = await append_all(store, random_history(8, ceremonies=3))
            runner = ProjectionRunner(store, db, default_projections(), 5, clock=lambda: now)
            for lag in await runner.lag():
                assert (lag.checkpoint, lag.head, lag.events_behind) == (
                    0,
                    len(stored),
                    len(stored),
                )
                assert lag.seconds_behind == (now - stored[0].recorded_at).total_seconds()
                assert lag.applied_recorded_at is None
                assert lag.head_recorded_at == stored[-1].recorded_at
            await runner.run_until(5)
            for lag in await runner.lag():
                assert (lag.checkpoint, lag.events_behind) == (5, len(stored) - 5)
                assert lag.seconds_behind == (now - stored[5].recorded_at).total_seconds()
                assert lag.applied_recorded_at == stored[4].recorded_at
            await runner.run_until()
            for lag in await runner.lag():
                assert (lag.events_behind, lag.seconds_behind) == (0, 0.0)
                assert lag.commit_delay_seconds == (now - stored[-1].recorded_at).total_seconds()

    @pytest.mark.parametrize("waiting", ["store", "polling", "failing"])
    async def test_run_forever_follows_the_store_until_stopped(
        self, waiting: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async with await self.open_store() as store, await self.open_db() as db:
            calls: list[tuple[int, float]] = []
            original = getattr(store, "wait_for_events", None)

            async def spy(after_position: int, timeout: float) -> bool:
                calls.append((after_position, timeout))
                if waiting == "failing":
                    raise ConnectionResetError("LISTEN connection lost")
                if original is None:
                    await asyncio.sleep(timeout)
                    return False
                result: bool = await original(after_position=after_position, timeout=timeout)
                return result

            monkeypatch.setattr(store, "wait_for_events", None if waiting == "polling" else spy)
            runner = ProjectionRunner(store, db, default_projections(), poll_interval=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run_forever(stop))
            try:
                for round_ in range(3):
                    appended = await append_all(store, random_history(20 + round_, ceremonies=3))
                    deadline = time.monotonic() + 10
                    while {c.position for c in (await runner.checkpoints()).values()} != {
                        appended[-1].position
                    }:
                        assert not task.done(), task
                        assert time.monotonic() < deadline, "the runner did not catch up"
                        await asyncio.sleep(0.01)
                    lags = await runner.lag()
                    assert {lag.events_behind for lag in lags} == {0}
                    for lag in lags:
                        # Real clocks: recorded to committed well within the test's patience.
                        assert lag.commit_delay_seconds is not None
                        assert 0 <= lag.commit_delay_seconds < 10
            finally:
                stop.set()
                await asyncio.wait_for(task, 5)
            if waiting != "polling":
                assert calls, "wait_for_events was not used"
                assert all(timeout == 0.05 for _, timeout in calls)
            assert await dump_all(db, list(runner.projections)) == await self.rebuilt(store)

    async def test_run_until_a_future_position_times_out(self) -> None:
        async with await self.open_store() as store, await self.open_db() as db:
            await append_all(store, create_wallet("w1"))
            runner = ProjectionRunner(store, db, default_projections(), poll_interval=0.02)
            with pytest.raises(TimeoutError):
                await runner.run_until(5, timeout=0.2)
            assert {c.position for c in (await runner.checkpoints()).values()} == {2}

    async def test_queries_agree_with_the_store_on_a_long_history(self) -> None:
        async with await self.open_store(SteppingClock()) as store, await self.open_db() as db:
            stored = await append_all(store, random_history(9, wallets=3, ceremonies=40))
            await ProjectionRunner(store, db, default_projections(), batch_size=16).run_until()
            first, last = stored[0].recorded_at, stored[-1].recorded_at
            far = last + timedelta(days=1)
            wallets = await list_wallets(db)
            assert len(wallets) == 3
            total = 0
            for wallet in wallets:
                whole = await signatures_between(db, wallet.wallet_id, first, far)
                assert len(whole) == wallet.signature_count
                assert all(r.outcome == "signed" and r.signature for r in whole)
                finished = [r.finished_at for r in whole if r.finished_at is not None]
                assert len(finished) == len(whole)
                assert finished == sorted(finished)
                middle = first + (last - first) / 2
                halves = await signatures_between(
                    db, wallet.wallet_id, first, middle
                ) + await signatures_between(db, wallet.wallet_id, middle, far)
                assert halves == whole
                total += len(whole)
                for event in stored[::9]:
                    instant = event.recorded_at
                    assert await wallet_state_as_of(
                        db, wallet.wallet_id, instant
                    ) == await fold_wallet_state(store, wallet.wallet_id, instant)
                assert await wallet_state_as_of(db, wallet.wallet_id, far) == wallet
            assert total == sum(1 for e in stored if e.event_type == "SignatureProduced")

            # Transactions: as many rows as builds, each in the status its events say.
            expected: dict[str, dict[str, Any]] = {}
            for event in stored:
                payload = event.payload
                if event.event_type == "TransactionBuilt":
                    expected[payload["request_id"]] = {
                        "wallet_id": payload["wallet_id"],
                        "amount": payload["transaction"]["amount"],
                        "fee": payload["transaction"]["fee"],
                        "tx_hash": None,
                        "status": "built",
                        "built_at": event.recorded_at,
                    }
                elif event.event_type == "TransactionBroadcast":
                    expected[payload["request_id"]].update(
                        tx_hash=payload["tx_hash"], status="broadcast"
                    )
                elif event.event_type == "TransactionConfirmed":
                    expected[payload["request_id"]].update(
                        status="confirmed",
                        confirmations=payload["confirmations"],
                        block=payload["block"],
                    )
            assert any(row["amount"] > 2**63 for row in expected.values())
            seen = 0
            for wallet in wallets:
                records = await wallet_transactions(db, wallet.wallet_id)
                assert records == await fold_transactions(store, wallet.wallet_id)
                assert [r.built_at for r in records] == sorted(r.built_at for r in records)
                for record in records:
                    want = expected[record.request_id]
                    got = record.model_dump()
                    assert {key: got[key] for key in want} == want
                    assert await get_transaction(db, record.request_id) == record
                middle = first + (last - first) / 2
                assert (
                    await wallet_transactions(db, wallet.wallet_id, until=middle)
                    + await wallet_transactions(db, wallet.wallet_id, since=middle)
                    == records
                )
                seen += len(records)
            assert seen == len(expected)
